CREATE TABLE bridge.alembic_version (
    version_num VARCHAR(32) NOT NULL, 
    CONSTRAINT alembic_version_pkc PRIMARY KEY (version_num)
);

-- Running upgrade  -> 0001

CREATE TABLE bridge.checkpoints (
    pipeline VARCHAR(200) NOT NULL, 
    source_engine VARCHAR(20) NOT NULL, 
    source_system_id VARCHAR(100) NOT NULL, 
    phase VARCHAR(20) NOT NULL, 
    position TEXT NOT NULL, 
    snapshot_position TEXT, 
    commit_time TIMESTAMP WITH TIME ZONE, 
    applied_at TIMESTAMP WITH TIME ZONE NOT NULL, 
    transactions BIGINT DEFAULT '0' NOT NULL, 
    changes BIGINT DEFAULT '0' NOT NULL, 
    PRIMARY KEY (pipeline)
);

CREATE TABLE bridge.heartbeats (
    pipeline VARCHAR(200) NOT NULL, 
    source_time TIMESTAMP WITH TIME ZONE NOT NULL, 
    applied_at TIMESTAMP WITH TIME ZONE NOT NULL, 
    PRIMARY KEY (pipeline)
);

INSERT INTO bridge.alembic_version (version_num) VALUES ('0001') RETURNING bridge.alembic_version.version_num;

-- Running upgrade 0001 -> 0002

CREATE TABLE bridge.relations (
    pipeline VARCHAR(200) NOT NULL, 
    table_schema VARCHAR(200) NOT NULL, 
    table_name VARCHAR(200) NOT NULL, 
    columns TEXT NOT NULL, 
    PRIMARY KEY (pipeline, table_schema, table_name)
);

CREATE TABLE bridge.pipeline_stats (
    pipeline VARCHAR(200) NOT NULL, 
    updated_at TIMESTAMP WITH TIME ZONE NOT NULL, 
    rows_per_second DOUBLE PRECISION, 
    batch_rows DOUBLE PRECISION, 
    retries BIGINT DEFAULT '0' NOT NULL, 
    last_error TEXT, 
    last_error_at TIMESTAMP WITH TIME ZONE, 
    PRIMARY KEY (pipeline)
);

CREATE TABLE bridge.in_flight (
    pipeline VARCHAR(200) NOT NULL, 
    commit_position TEXT NOT NULL, 
    events BIGINT NOT NULL, 
    PRIMARY KEY (pipeline)
);

UPDATE bridge.alembic_version SET version_num='0002' WHERE bridge.alembic_version.version_num = '0001';

