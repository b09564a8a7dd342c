// Type declarations of @metrics/client (hand-written; the package is plain ES modules).

/** A PostgREST error as supabase-js returns it. */
export interface RpcError {
    message: string;
    code?: string;
    details?: string | null;
    hint?: string | null;
}

/** What `rpc()` resolves to (supabase-js's PostgrestResponse, structurally). */
export interface RpcResponse {
    data: unknown;
    error: RpcError | null;
    /** The HTTP status; 0 (or absent) when no response arrived. */
    status?: number;
    statusText?: string;
}

/** What `rpc()` returns: awaitable; `abortSignal` is used when present (supabase-js has it). */
export interface RpcCall extends PromiseLike<RpcResponse> {
    abortSignal?(signal: AbortSignal): PromiseLike<RpcResponse>;
}

/**
 * The part of a Supabase client this package uses: `schema(name).rpc(fn, args)`. A
 * `SupabaseClient` (created with the service-role key, server side only) fits, and so does a
 * fake in tests.
 */
export interface MetricsRpcClient {
    schema(name: string): { rpc(fn: string, args?: Record<string, unknown>): RpcCall };
}

export type Grain = 'hour' | 'day' | 'week';
export type Resolution = 'hour' | 'day' | 'week';

/**
 * The range and shape of a report. `start` and `end` are Dates, ms since the epoch, or ISO 8601
 * strings with a UTC offset (a date alone is its UTC midnight); the range is [start, end).
 */
export interface TimeRange {
    start: Date | string | number;
    end: Date | string | number;
    /** Default 'hour'. Days and weeks (from Monday) are UTC days in memory mode and days in metrics.timezone (default UTC) in database mode. */
    grain?: Grain;
    /** All routes and methods (operations) together in one row per period; the name (and method) are then null. Default false. */
    combined?: boolean;
    /** Only this project's rows (slug or id); by default the rows of every project and of none, merged. */
    project?: string;
}

interface MetricsRowBase {
    periodStart: Date;
    periodEnd: Date;
    successful: number;
    failed: number;
    /** successful / total, from 0 to 1. */
    successRate: number;
    averageDurationMs: number;
    minDurationMs: number;
    maxDurationMs: number;
    /** Percentiles of the merged sketch (percentile_disc rank, within 1 % of a true duration, within [min, max]); null without events. */
    p50Ms: number | null;
    p95Ms: number | null;
    p99Ms: number | null;
    /** The coarsest stored resolution the row was made of ('day'/'week' after server compaction); always 'hour' in memory mode. */
    resolution: Resolution;
}

/** A row of getRouteMetrics (get_route_metrics). */
export interface RouteMetrics extends MetricsRowBase {
    /** null when combined. */
    route: string | null;
    /** null when combined. */
    method: string | null;
    totalRequests: number;
}

/** A row of getOperationMetrics (get_operation_metrics). */
export interface OperationMetrics extends MetricsRowBase {
    /** null when combined. */
    operation: string | null;
    totalExecutions: number;
}

/** Per-event options of the record calls (beyond the seed's arguments). */
export interface RecordOptions {
    /** The event's project (slug or uuid); null for none; default: the storage's `project`. */
    project?: string | null;
    /** When it happened (default now); must be within [now - maxEventAgeMs, now + maxEventLeadMs]. */
    at?: Date | number | string;
}

/** The seed's contract. */
export interface MetricsStorage {
    /** Never throws, never waits: adds the event in memory and returns a resolved promise. `duration` in ms. */
    recordRouteMetric(route: string, method: string, success: boolean, duration: number, options?: RecordOptions): Promise<void>;
    /** Never throws, never waits. `duration` in ms. */
    recordOperationMetric(operation: string, success: boolean, duration: number, options?: RecordOptions): Promise<void>;
    /** Database mode: what the database holds (flush() first to include what is pending). Rejects with a MetricsError. Default range: the last 24 hours. */
    getRouteMetrics(route?: string, method?: string, timeRange?: TimeRange): Promise<RouteMetrics[]>;
    getOperationMetrics(operation?: string, timeRange?: TimeRange): Promise<OperationMetrics[]>;
}

export interface FlushResult {
    /** Whether every batch pending when flush() was called was written or refused. */
    complete: boolean;
    /** Events still held (pending or in unsent batches). */
    pending: number;
    pendingKeys: number;
}

export interface MetricsStats {
    mode: 'memory' | 'database';
    /** Events accepted by the record calls. */
    recorded: number;
    /** Events refused by the checks when recorded (bad name, method, duration, time or project). */
    invalid: number;
    /** Events dropped for the memory bound (maxPendingKeys / maxMemoryKeys) or after close(). */
    dropped: number;
    /** Events the database confirmed written (database mode). */
    flushed: number;
    /** Events of batches the database refused (4xx), dropped. */
    rejected: number;
    /** Failed calls that were (or will be) retried. */
    retries: number;
    /** Batch calls that succeeded. */
    batches: number;
    /** Events held for sending: pending plus unsent batches (database mode; 0 in memory mode). */
    pending: number;
    /** Keys held for sending (the memory bound counts these). */
    pendingKeys: number;
    unsentBatches: number;
    /** Keys and events held in memory (memory mode: the store; database mode: as pending). */
    keys: number;
    events: number;
    /** Hour summaries dropped by retentionDays (memory mode). */
    pruned: number;
    lastFlushAt: Date | null;
    lastError: { message: string; code: string; status: number; at: Date } | null;
    closed: boolean;
}

export interface MetricsStorageHandle extends MetricsStorage {
    /** Sends what is pending and waits, retrying failures, at most timeoutMs (default flushTimeoutMs). Never rejects. */
    flush(options?: { timeoutMs?: number }): Promise<FlushResult>;
    /** Final flush (at most timeoutMs, default shutdownTimeoutMs), stops the timers, removes the signal listeners. Later events are dropped. */
    close(options?: { timeoutMs?: number }): Promise<FlushResult>;
    /** Same as close(). */
    shutdown(options?: { timeoutMs?: number }): Promise<FlushResult>;
    stats(): MetricsStats;
}

export interface BackoffOptions {
    /** First wait before a retry (ms), doubled at each consecutive failure. Default 1000. */
    initialMs?: number;
    /** Longest wait (ms). Default 60000. */
    maxMs?: number;
    /** Up to this fraction of each wait is taken off at random (0 to 1). Default 0.2. */
    jitter?: number;
}

/** A failed batch call, as onError receives it. */
export interface FlushErrorInfo {
    /** record_route_metrics or record_operation_metrics. */
    fn: string;
    batchId: string;
    events: number;
    /** true: the batch is kept and sent again after retryInMs; false: refused, its events are dropped (counted in rejected). */
    retryable: boolean;
    retryInMs: number | null;
    error: MetricsError;
}

/** Events dropped when recorded, as onDrop receives them. */
export interface DropInfo {
    reason: 'invalid' | 'memory-bound' | 'closed';
    subject: 'route' | 'operation';
    events: number;
    message: string;
    /** The SQLSTATE the server would have answered, for invalid events. */
    code?: string;
}

export interface MetricsStorageOptions {
    /** Default: OBSERVABILITY_METRICS_STORAGE, else 'memory'. */
    mode?: 'memory' | 'database';
    /** Database mode: a Supabase client with the service-role key (server side only), or anything of that shape. */
    supabase?: MetricsRpcClient;
    /** The PostgREST schema of the extension. Default 'metrics'. */
    schema?: string;
    /** Default project (slug or uuid) of the events. Default none. */
    project?: string | null;
    /** Database mode: ms between flushes. Default: OBSERVABILITY_METRICS_BATCH_INTERVAL, else 5000. */
    batchIntervalMs?: number;
    /** Memory mode: days the hours are kept. Default: OBSERVABILITY_METRICS_RETENTION_DAYS, else 90. */
    retentionDays?: number;
    /** Database mode: flush early when this many keys are pending. Default 1000. */
    maxBatchKeys?: number;
    /** Database mode: most keys held (pending plus unsent batches); events of new keys are dropped beyond. Default 50000. */
    maxPendingKeys?: number;
    /** Most summaries per call (the server accepts 100000). Default 100000. */
    maxBatchElements?: number;
    /** Memory mode: most keys held; events of new keys are dropped beyond. Default 100000. */
    maxMemoryKeys?: number;
    backoff?: BackoffOptions;
    /** Longest wait for one call's answer (then retried with the same batch id). Default 10000. */
    requestTimeoutMs?: number;
    /** Default bound of flush(). Default 10000. */
    flushTimeoutMs?: number;
    /** Bound of the flush on close(), on a signal and on beforeExit. Default 5000. */
    shutdownTimeoutMs?: number;
    /** Oldest `at` accepted when recording (ms before now). Default 7 days less 1 hour (the server's metrics.max_event_age is 7 days). */
    maxEventAgeMs?: number;
    /** Latest `at` accepted (ms after now). Default 60000 (the server's metrics.max_event_lead is 5 minutes). */
    maxEventLeadMs?: number;
    /** Memory mode: longest report range in days (the server's metrics.max_query_days). Default 366. */
    maxQueryDays?: number;
    /** Flush on SIGTERM/SIGINT (then re-raise the signal) and on beforeExit. Default true. */
    handleSignals?: boolean;
    /** Called for each failed batch call (default: a warning through logger, at most once a minute). */
    onError?: (info: FlushErrorInfo) => void;
    /** Called for each event dropped when recorded (default: a warning through logger, at most once a minute per reason). */
    onDrop?: (info: DropInfo) => void;
    /** Where the default warnings go; null or false: nowhere. Default console. */
    logger?: { warn(message: string): void } | null | false;
    /** The environment read for the OBSERVABILITY_METRICS_* settings. Default process.env. */
    env?: Record<string, string | undefined>;
    /** The clock of event times and windows (ms since the epoch). Default Date.now. For tests. */
    now?: () => number;
    /** The random source of the jitter, in [0, 1). Default Math.random. For tests. */
    random?: () => number;
}

export declare function createMetricsStorage(options?: MetricsStorageOptions): MetricsStorageHandle;

/** What both storages are (createMetricsStorage makes them). */
declare abstract class MetricsStorageBase implements MetricsStorageHandle {
    recordRouteMetric(route: string, method: string, success: boolean, duration: number, options?: RecordOptions): Promise<void>;
    recordOperationMetric(operation: string, success: boolean, duration: number, options?: RecordOptions): Promise<void>;
    getRouteMetrics(route?: string, method?: string, timeRange?: TimeRange): Promise<RouteMetrics[]>;
    getOperationMetrics(operation?: string, timeRange?: TimeRange): Promise<OperationMetrics[]>;
    flush(options?: { timeoutMs?: number }): Promise<FlushResult>;
    close(options?: { timeoutMs?: number }): Promise<FlushResult>;
    shutdown(options?: { timeoutMs?: number }): Promise<FlushResult>;
    stats(): MetricsStats;
}

/** Memory mode's storage. */
export declare class MemoryMetricsStorage extends MetricsStorageBase {
    private constructor();
}

/** Database mode's storage. */
export declare class DatabaseMetricsStorage extends MetricsStorageBase {
    private constructor();
}

/** The error the reads reject with (recording never throws). */
export declare class MetricsError extends Error {
    constructor(message: string, info?: { code?: string; status?: number; details?: string | null; hint?: string | null; retryable?: boolean; cause?: unknown });
    /** 'MetricsError'. */
    name: string;
    /** The SQLSTATE or PostgREST code ('' when none: network failure; 'TIMEOUT' for requestTimeoutMs). */
    code: string;
    /** HTTP status; 0 when no response arrived; undefined when raised locally (memory mode's checks). */
    status: number | undefined;
    details: string | null;
    hint: string | null;
    /** Whether the same call may succeed later (no response, 5xx, 408, 429). */
    retryable: boolean;
}

/** One summary of a batch, as sent to record_route_metrics / record_operation_metrics. */
export interface WireSummary {
    route?: string;
    method?: string;
    operation?: string;
    project?: string;
    /** ISO 8601 time (UTC, 'Z') of the last event; its UTC hour is the summary's. */
    at: string;
    successful: number;
    failed: number;
    total_duration_ms: number;
    min_duration_ms: number;
    max_duration_ms: number;
    /** [bucket, count] pairs, buckets strictly increasing, counts >= 1, adding up to successful + failed. */
    sketch: Array<[number, number]>;
}

/** What is measured: the descriptors the transport takes. */
export interface Subject {
    kind: 'route' | 'operation';
    nameKey: 'route' | 'operation';
    hasMethod: boolean;
    recordFn: 'record_route_metrics' | 'record_operation_metrics';
    readFn: 'get_route_metrics' | 'get_operation_metrics';
    totalColumn: 'total_requests' | 'total_executions';
    totalField: 'totalRequests' | 'totalExecutions';
}
export declare const ROUTE: Readonly<Subject>;
export declare const OPERATION: Readonly<Subject>;

export type RecordOutcome =
    | { ok: true; count: number }
    | { ok: false; error: MetricsError };

/** The transport: the one module that calls the server (exported for integration tests). */
export interface Transport {
    /** One call of subject.recordFn with { events, batch_id }; never rejects. */
    record(subject: Subject, events: WireSummary[] | Record<string, unknown>[], batchId: string): Promise<RecordOutcome>;
    /** One call of subject.readFn; the raw rows; rejects with a MetricsError. */
    read(subject: Subject, args: Record<string, unknown>): Promise<Record<string, unknown>[]>;
}

export declare function createTransport(client: MetricsRpcClient, options?: { schema?: string; requestTimeoutMs?: number }): Transport;
/** Whether a failed call with this HTTP status may succeed later (0/undefined, 5xx, 408, 429). */
export declare function isRetryable(status: number | undefined): boolean;

/** The sketch (crates/metrics-core/src/requests/sketch.rs), bit for bit. */
export declare const RELATIVE_ACCURACY: 0.01;
export declare const MIN_TRACKED_MS: 0.001;
export declare const MAX_TRACKED_MS: 86400000;
export declare const LN_GAMMA: 0.020000666706669524;
export declare const BUCKETS: 1261;
export declare function bucketOf(valueMs: number): number;
export declare function representative(bucket: number): number;
/** percentile_disc's 1-based rank: max(1, ceil(q * n)), within 1..n. */
export declare function rank(q: number, n: number): number;
/** Quantiles of [bucket, count] pairs in increasing bucket order; null when empty or q outside [0, 1]. */
export declare function quantiles(buckets: ReadonlyArray<readonly [number, number]>, qs: readonly number[]): Array<number | null>;

/** The server's limits of events. */
export declare const METHODS: readonly ['GET', 'HEAD', 'POST', 'PUT', 'PATCH', 'DELETE', 'OPTIONS', 'TRACE', 'CONNECT'];
export declare const MAX_NAME_BYTES: 1024;
export declare const MAX_DURATION_MS: 86400000;
export declare const MAX_BATCH_ELEMENTS: 100000;

export declare const DEFAULTS: Readonly<{
    mode: 'memory';
    batchIntervalMs: number;
    retentionDays: number;
    maxBatchKeys: number;
    maxPendingKeys: number;
    maxBatchElements: number;
    maxMemoryKeys: number;
    requestTimeoutMs: number;
    flushTimeoutMs: number;
    shutdownTimeoutMs: number;
    maxEventAgeMs: number;
    maxEventLeadMs: number;
    maxQueryDays: number;
    schema: string;
    handleSignals: boolean;
    backoff: Readonly<Required<BackoffOptions>>;
}>;
