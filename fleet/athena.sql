-- Amazon Athena table over the NDJSON that `etl-imds capture stop --ndjson` (fleet/etl-imds-capture.yaml
-- with S3Bucket) and `etl-imds scan --ndjson` write: one JSON object per line, of type process,
-- request or file (fleet/ndjson.schema.json, docs/scan-output.md, NDJSON). The objects are stored as
--   s3://amzn-s3-demo-bucket/etl-imds/dt=YYYY-MM-DD/<instance>-<time>-<trace>.ndjson
-- Replace both s3:// locations below with your bucket and S3Prefix. Partitions are projected from the
-- dt= folders (no MSCK REPAIR TABLE or crawler needed); a query reads only the days its WHERE clause
-- on dt allows. Column names are the JSON keys; Athena matches them whatever their case.
CREATE EXTERNAL TABLE IF NOT EXISTS etl_imds (
  type string,
  host string,
  instanceId string,
  file string,
  -- type = 'process': one process instance that called IMDS
  key string,
  pid bigint,
  image string,
  imagePath string,
  commandLine string,
  services array<string>,
  `user` struct<sid:string, name:string>,
  sessionId bigint,
  startTime string,
  exitTime string,
  parents array<struct<pid:bigint, image:string, commandLine:string, services:array<string>, startTime:string, exitTime:string>>,
  parentsEnd struct<reason:string, pid:bigint>,
  nameSource string,
  nameConfidence string,
  v1 bigint,
  v2 bigint,
  token bigint,
  unknown bigint,
  paths array<string>,
  v1Paths array<string>,
  statuses map<string, bigint>,
  attributionCounts map<string, bigint>,
  userAgents array<string>,
  firstSeen string,
  lastSeen string,
  -- type = 'request': one request (pid, image, commandLine, services, nameSource and nameConfidence above)
  attribution string,
  `time` string,
  processKey string,
  tid bigint,
  class string,
  method string,
  path string,
  pathCut boolean,
  status int,
  reason string,
  endpoint string,
  clientPort int,
  userAgent string,
  flags array<string>,
  frames array<bigint>,
  connection bigint,
  -- type = 'file': one scanned trace, with or without requests
  error struct<message:string, code:string>,
  packets bigint,
  connections bigint,
  requests bigint,
  names struct<source:string, path:string, rows:bigint, traceProcesses:bigint>,
  capture struct<tool:string, wrapped:boolean, sizeLimitReached:boolean, coveredFrom:string, packetsCut:bigint, snapLength:bigint, command:string>,
  diagnostics array<struct<severity:string, code:string, message:string>>,
  warnings array<string>
)
PARTITIONED BY (dt string)
ROW FORMAT SERDE 'org.apache.hive.hcatalog.data.JsonSerDe'
LOCATION 's3://amzn-s3-demo-bucket/etl-imds/'
TBLPROPERTIES (
  'projection.enabled' = 'true',
  'projection.dt.type' = 'date',
  'projection.dt.format' = 'yyyy-MM-dd',
  'projection.dt.range' = '2024-01-01,NOW',
  'projection.dt.interval' = '1',
  'projection.dt.interval.unit' = 'DAYS',
  'storage.location.template' = 's3://amzn-s3-demo-bucket/etl-imds/dt=${dt}/'
);
