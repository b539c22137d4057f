-- Schema version 16, as Kestrel created a fresh PostgreSQL store before version 17 (every
-- string column a VARCHAR(n)); SQLite gets it with BLOB for BYTEA. From engine.persistence.schema at 8237be7.

CREATE TABLE live_accounts (
	account VARCHAR(200) NOT NULL,
	exchange VARCHAR(64) NOT NULL,
	created_at VARCHAR(40) NOT NULL,
	baseline_ms BIGINT NOT NULL,
	baseline_json TEXT NOT NULL,
	sessions INTEGER DEFAULT '0' NOT NULL,
	config_toml TEXT,
	PRIMARY KEY (account)
);

CREATE TABLE live_bars (
	account VARCHAR(200) NOT NULL,
	symbol VARCHAR(64) NOT NULL,
	ts_ns BIGINT NOT NULL,
	timeframe_ns BIGINT NOT NULL,
	open FLOAT NOT NULL,
	high FLOAT NOT NULL,
	low FLOAT NOT NULL,
	close FLOAT NOT NULL,
	volume FLOAT NOT NULL,
	session INTEGER NOT NULL,
	PRIMARY KEY (account, symbol, ts_ns)
);

CREATE TABLE live_equity (
	account VARCHAR(200) NOT NULL,
	ts_ns BIGINT NOT NULL,
	session INTEGER NOT NULL,
	cash FLOAT NOT NULL,
	equity FLOAT NOT NULL,
	gross_exposure FLOAT NOT NULL,
	PRIMARY KEY (account, ts_ns)
);

CREATE TABLE live_fills (
	account VARCHAR(200) NOT NULL,
	trade_id VARCHAR(64) NOT NULL,
	client_id VARCHAR(64) NOT NULL,
	exchange_order_id VARCHAR(64) NOT NULL,
	symbol VARCHAR(64) NOT NULL,
	side VARCHAR(8) NOT NULL,
	quantity FLOAT NOT NULL,
	price FLOAT NOT NULL,
	fee FLOAT NOT NULL,
	fee_asset VARCHAR(16) NOT NULL,
	liquidity VARCHAR(8) NOT NULL,
	ts_event BIGINT NOT NULL,
	PRIMARY KEY (account, trade_id)
);

CREATE TABLE live_orders (
	account VARCHAR(200) NOT NULL,
	client_id VARCHAR(64) NOT NULL,
	order_id VARCHAR(64) NOT NULL,
	strategy_id VARCHAR(64) NOT NULL,
	symbol VARCHAR(64) NOT NULL,
	side VARCHAR(8) NOT NULL,
	order_type VARCHAR(16) NOT NULL,
	quantity FLOAT NOT NULL,
	limit_price FLOAT,
	time_in_force VARCHAR(8) NOT NULL,
	status VARCHAR(16) NOT NULL,
	origin VARCHAR(16) NOT NULL,
	exchange_order_id VARCHAR(64),
	filled_quantity FLOAT NOT NULL,
	average_price FLOAT,
	ts_created BIGINT NOT NULL,
	ts_last BIGINT NOT NULL,
	reason TEXT NOT NULL,
	stop_price FLOAT,
	list_id VARCHAR(64),
	post_only INTEGER,
	expire_ns BIGINT,
	replaces VARCHAR(64),
	triggered_from VARCHAR(64),
	amending TEXT,
	reduce_only INTEGER,
	PRIMARY KEY (account, client_id)
);

CREATE TABLE live_strategy_state (
	account VARCHAR(200) NOT NULL,
	strategy_id VARCHAR(64) NOT NULL,
	saved_at VARCHAR(40) NOT NULL,
	ts_event BIGINT NOT NULL,
	state_json TEXT NOT NULL,
	PRIMARY KEY (account, strategy_id)
);

CREATE TABLE live_timers (
	account VARCHAR(200) NOT NULL,
	strategy_id VARCHAR(64) NOT NULL,
	name VARCHAR(200) NOT NULL,
	interval_ns BIGINT NOT NULL,
	due_ns BIGINT NOT NULL,
	PRIMARY KEY (account, strategy_id, name, interval_ns)
);

CREATE TABLE live_trails (
	account VARCHAR(200) NOT NULL,
	order_id VARCHAR(64) NOT NULL,
	"offset" FLOAT NOT NULL,
	offset_type VARCHAR(16) NOT NULL,
	best FLOAT NOT NULL,
	stop FLOAT NOT NULL,
	link INTEGER NOT NULL,
	client_id VARCHAR(64) NOT NULL,
	replaces VARCHAR(64) NOT NULL,
	state VARCHAR(16) NOT NULL,
	PRIMARY KEY (account, order_id)
);

CREATE TABLE paper_accounts (
	account VARCHAR(200) NOT NULL,
	run_id VARCHAR(96) NOT NULL,
	created_at VARCHAR(40) NOT NULL,
	start_ns BIGINT NOT NULL,
	config_toml TEXT NOT NULL,
	config_parts TEXT NOT NULL,
	writer VARCHAR(200),
	PRIMARY KEY (account)
);

CREATE TABLE runs (
	run_id VARCHAR(96) NOT NULL,
	name VARCHAR(200) NOT NULL,
	strategy VARCHAR(300) NOT NULL,
	symbols VARCHAR(1000) NOT NULL,
	created_at VARCHAR(40) NOT NULL,
	start_ns BIGINT,
	end_ns BIGINT,
	bars INTEGER NOT NULL,
	initial_cash FLOAT NOT NULL,
	final_equity FLOAT NOT NULL,
	total_return FLOAT NOT NULL,
	sharpe FLOAT,
	max_drawdown FLOAT,
	num_trades INTEGER NOT NULL,
	artifacts_dir VARCHAR(1000),
	config_toml TEXT NOT NULL,
	metrics_json TEXT NOT NULL,
	status VARCHAR(16) DEFAULT 'complete' NOT NULL,
	writer VARCHAR(200),
	params_json TEXT,
	PRIMARY KEY (run_id)
);

CREATE INDEX ix_runs_created_at ON runs (created_at);

CREATE TABLE schema_version (
	id INTEGER NOT NULL,
	version INTEGER NOT NULL,
	PRIMARY KEY (id)
);

CREATE TABLE sweeps (
	sweep_id VARCHAR(96) NOT NULL,
	name VARCHAR(200) NOT NULL,
	strategy VARCHAR(300) NOT NULL,
	created_at VARCHAR(40) NOT NULL,
	config_toml TEXT NOT NULL,
	spec_json TEXT NOT NULL,
	status VARCHAR(16) NOT NULL,
	guards_json TEXT,
	base_dir TEXT,
	PRIMARY KEY (sweep_id)
);

CREATE TABLE walkforwards (
	walkforward_id VARCHAR(96) NOT NULL,
	name VARCHAR(200) NOT NULL,
	strategy VARCHAR(300) NOT NULL,
	created_at VARCHAR(40) NOT NULL,
	config_toml TEXT NOT NULL,
	spec_json TEXT NOT NULL,
	windows_json TEXT NOT NULL,
	metrics_json TEXT NOT NULL,
	efficiency FLOAT,
	stability_json TEXT NOT NULL,
	artifacts_dir TEXT,
	PRIMARY KEY (walkforward_id)
);

CREATE TABLE equity (
	run_id VARCHAR(96) NOT NULL,
	ts_event BIGINT NOT NULL,
	cash FLOAT,
	equity FLOAT,
	gross_exposure FLOAT,
	PRIMARY KEY (run_id, ts_event),
	FOREIGN KEY(run_id) REFERENCES runs (run_id) ON DELETE CASCADE
);

CREATE TABLE equity_blocks (
	run_id VARCHAR(96) NOT NULL,
	block INTEGER NOT NULL,
	rows INTEGER NOT NULL,
	ts_event BYTEA NOT NULL,
	cash BYTEA NOT NULL,
	equity BYTEA NOT NULL,
	gross_exposure BYTEA NOT NULL,
	PRIMARY KEY (run_id, block),
	FOREIGN KEY(run_id) REFERENCES runs (run_id) ON DELETE CASCADE
);

CREATE TABLE events (
	run_id VARCHAR(96) NOT NULL,
	seq INTEGER NOT NULL,
	ts_event BIGINT,
	kind VARCHAR(32),
	symbol VARCHAR(200),
	amount FLOAT,
	detail TEXT,
	PRIMARY KEY (run_id, seq),
	FOREIGN KEY(run_id) REFERENCES runs (run_id) ON DELETE CASCADE
);

CREATE TABLE fills (
	run_id VARCHAR(96) NOT NULL,
	fill_id VARCHAR(32) NOT NULL,
	order_id VARCHAR(64),
	symbol VARCHAR(64),
	side VARCHAR(8),
	quantity FLOAT,
	price FLOAT,
	fee FLOAT,
	liquidity VARCHAR(8),
	ts_event BIGINT,
	PRIMARY KEY (run_id, fill_id),
	FOREIGN KEY(run_id) REFERENCES runs (run_id) ON DELETE CASCADE
);

CREATE TABLE orders (
	run_id VARCHAR(96) NOT NULL,
	order_id VARCHAR(64) NOT NULL,
	strategy_id VARCHAR(64),
	symbol VARCHAR(64),
	side VARCHAR(8),
	order_type VARCHAR(16),
	quantity FLOAT,
	limit_price FLOAT,
	stop_price FLOAT,
	time_in_force VARCHAR(8),
	status VARCHAR(24),
	filled_quantity FLOAT,
	average_fill_price FLOAT,
	fees FLOAT,
	ts_requested BIGINT,
	ts_last BIGINT,
	"check" VARCHAR(64),
	reason TEXT,
	tag VARCHAR(200),
	PRIMARY KEY (run_id, order_id),
	FOREIGN KEY(run_id) REFERENCES runs (run_id) ON DELETE CASCADE
);

CREATE TABLE paper_journal (
	account VARCHAR(200) NOT NULL,
	seq BIGINT NOT NULL,
	kind VARCHAR(16) NOT NULL,
	ts_event BIGINT NOT NULL,
	symbol VARCHAR(64),
	payload TEXT NOT NULL,
	PRIMARY KEY (account, seq),
	FOREIGN KEY(account) REFERENCES paper_accounts (account) ON DELETE CASCADE
);

CREATE TABLE sweep_runs (
	sweep_id VARCHAR(96) NOT NULL,
	trial INTEGER NOT NULL,
	run_id VARCHAR(96) NOT NULL,
	PRIMARY KEY (sweep_id, trial),
	FOREIGN KEY(sweep_id) REFERENCES sweeps (sweep_id) ON DELETE CASCADE,
	UNIQUE (run_id),
	FOREIGN KEY(run_id) REFERENCES runs (run_id) ON DELETE CASCADE
);

CREATE TABLE sweep_trials (
	sweep_id VARCHAR(96) NOT NULL,
	trial INTEGER NOT NULL,
	params_json TEXT NOT NULL,
	status VARCHAR(16) NOT NULL,
	value FLOAT,
	value2 FLOAT,
	sharpe FLOAT,
	metrics_json TEXT,
	error TEXT,
	returns BYTEA,
	PRIMARY KEY (sweep_id, trial),
	FOREIGN KEY(sweep_id) REFERENCES sweeps (sweep_id) ON DELETE CASCADE
);

CREATE TABLE trades (
	run_id VARCHAR(96) NOT NULL,
	trade_id INTEGER NOT NULL,
	symbol VARCHAR(64),
	side VARCHAR(8),
	entry_time BIGINT,
	exit_time BIGINT,
	quantity FLOAT,
	entry_price FLOAT,
	exit_price FLOAT,
	gross_pnl FLOAT,
	fees FLOAT,
	net_pnl FLOAT,
	return_pct FLOAT,
	PRIMARY KEY (run_id, trade_id),
	FOREIGN KEY(run_id) REFERENCES runs (run_id) ON DELETE CASCADE
);
