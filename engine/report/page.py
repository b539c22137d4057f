"""Static parts of the HTML report page: its style sheet, script and template.

The template is filled with `str.format` by `engine.report.html`; the script draws every
chart island (``<script type="application/json" data-chart=ID>``) with plotly (when plotly
did not load, a page moved without ``_assets/``, each box says so in one line) and builds
the sortable trades table from its JSON island, then marks ``<body data-ready="1">``.
"""

__all__ = ["SCRIPT", "STYLE", "TEMPLATE"]

STYLE = """
body{font:14px/1.45 system-ui,-apple-system,Segoe UI,Roboto,sans-serif;margin:0;color:#1f2328;
  background:#f6f8fa}
main{max-width:1280px;margin:0 auto;padding:16px 20px}
header{background:#fff;border-bottom:1px solid #d0d7de;padding:12px 20px}
h1{font-size:20px;margin:0 0 4px}
h2{font-size:17px;margin:24px 0 8px}
h3{font-size:14px;margin:0 0 6px}
.sub{color:#57606a}
.headline{margin-top:6px}
.note{color:#9a6700}
main p{overflow-wrap:anywhere}
.metric-grid{display:grid;grid-template-columns:repeat(auto-fill,minmax(280px,1fr));gap:12px;
  align-items:start}
table{border-collapse:collapse;background:#fff}
caption{text-align:left;font-weight:600;padding:4px 0}
.metrics{width:100%}
.metrics th{text-align:left;font-weight:400;color:#57606a}
td,th{padding:3px 8px;border-bottom:1px solid #eaeef2}
td{text-align:right;font-variant-numeric:tabular-nums;white-space:nowrap}
.wide td{text-align:left}
/* no table may widen the page beyond the window: text wraps at spaces, and paths, hashes
   and the last (free-text) column may also break inside a word; names and numbers do not */
.wide{width:100%}
.wide td{white-space:normal}
.wide code,.wide td:last-child{overflow-wrap:anywhere}
.wide th,.settings code{white-space:nowrap;overflow-wrap:normal}
header .sub{overflow-wrap:anywhere}
.hash{font-size:11px;word-break:break-all}
.charts{display:flex;flex-wrap:wrap;gap:12px}
.chart{box-sizing:border-box;background:#fff;border:1px solid #d0d7de;border-radius:6px;
  padding:8px;flex:1 1 100%;min-width:0}
.chart.half{flex:1 1 calc(50% - 12px);min-width:420px}
.tablewrap{max-height:520px;overflow:auto;border:1px solid #d0d7de}
#trades th{position:sticky;top:0;background:#f6f8fa;cursor:pointer;white-space:nowrap}
#trades th.asc:after{content:" ▲"}
#trades th.desc:after{content:" ▼"}
pre{background:#fff;border:1px solid #d0d7de;padding:10px;overflow:auto}
"""

SCRIPT = """
(function(){
  var link=document.querySelector('script[src*="plotly"]');
  var why=link?'it needs '+link.getAttribute('src')+' beside this page: copy the whole '+
    'folder of runs with it, or re-render with kestrel report RUN --self-contained'
    :'plotly.js is not in this page (see the note at the top)';
  document.querySelectorAll('script[data-chart]').forEach(function(island){
    var box=document.getElementById(island.dataset.chart);
    if(!window.Plotly){box.className='note';box.textContent='Chart not drawn: '+why+'.';return;}
    var fig=JSON.parse(island.textContent);
    Plotly.newPlot(box,fig.data,fig.layout,{responsive:true,displaylogo:false});
  });
  var spec=JSON.parse(document.getElementById('trades-data').textContent);
  var table=document.getElementById('trades'), rows=spec.rows.slice();
  function cell(v){
    if(v===null||v===undefined)return '—';
    return typeof v==='number'?v.toLocaleString('en-US',{maximumFractionDigits:8}):v;
  }
  function draw(){
    var body=document.createElement('tbody');
    rows.forEach(function(r){var tr=document.createElement('tr');
      r.forEach(function(v){
        var td=document.createElement('td');td.textContent=cell(v);tr.appendChild(td);
      });
      body.appendChild(tr);});
    table.replaceChild(body,table.tBodies[0]);
  }
  var head=document.createElement('tr');
  spec.columns.forEach(function(name,k){
    var th=document.createElement('th');th.textContent=name;
    th.addEventListener('click',function(){
      var dir=th.classList.contains('asc')?-1:1;
      head.querySelectorAll('th').forEach(function(o){o.classList.remove('asc','desc');});
      th.classList.add(dir===1?'asc':'desc');
      rows.sort(function(a,b){var x=a[k],y=b[k];
        if(x===null)return 1;if(y===null)return -1;
        return (x<y?-1:x>y?1:0)*dir;});
      draw();});
    head.appendChild(th);});
  table.tHead.appendChild(head);
  draw();
  document.getElementById('trade-count').textContent=spec.rows.length?'':'No closed trades.';
  document.body.dataset.ready='1';
})();
"""

TEMPLATE = """<!DOCTYPE html>
<html lang="en"><head><meta charset="utf-8">
<meta name="generator" content="Kestrel">
<meta name="viewport" content="width=device-width,initial-scale=1">
<title>{title}</title><style>{style}</style>
{plotly}</head>
<body><header><h1>Backtest {run_id}</h1>
<div class="sub">strategy <code>{strategy}</code> params <code>{params}</code>
· {symbols} · {period} · created {created}</div>
<div class="headline">{headline}</div></header>
<main>{notes}
<h2>Metrics</h2>{metrics}
<h2>Charts</h2><div class="charts">{charts}</div>
<h2>Worst drawdowns</h2>{drawdowns}
<h2>Trades</h2>
<p class="sub">Click a column to sort. {trades_note} <span id="trade-count"></span></p>
<div class="tablewrap"><table id="trades"><thead></thead><tbody></tbody></table></div>
<script type="application/json" id="trades-data">{trades_json}</script>
<h2>Denied orders</h2>{denials}
<h2>Account and risk events</h2>{events}
<h2>Fill assumptions</h2>{assumptions}
<h2>Data provenance</h2>{provenance}
<h2>Config</h2><pre>{config}</pre>
</main><script>{script}</script></body></html>
"""
