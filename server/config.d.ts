export interface AppConfig {
    port: number;
    host: string;
    databaseUrl?: string | undefined;
    redisUrl?: string | undefined;
    dataDir: string;
    /** empty: only the server's own origin (the Host header) may use the cookie on /ws */
    allowedOrigins: string[];
    session: {
        idleSeconds: number;
        absoluteSeconds: number;
    };
    adminPassword?: string | undefined;
    logLevel: string;
    bodyLimit: number;
    /** HTTP requests only: a socket upgraded at /ws is no longer subject to them */
    timeouts: {
        requestMs: number;
        connectionMs: number;
        keepAliveMs: number;
    };
    loginRateLimitPerMinute: number;
    loginUsernameRateLimitPerMinute: number;
    dbPoolSize: number;
    dbSaveConcurrency: number;
    /** false: no proxy; X-Forwarded-* are ignored */
    trustProxy: string[] | false;
    cookieSecure: boolean;
    notificationHistory: number;
    tiles: {
        url: string;
        attribution: string;
    };
    relaySweepMs: number;
    ws: {
        maxFrameBytes: number;
        maxBufferedBytes: number;
        slowGraceMs: number;
        pingIntervalMs: number;
        sessionCheckMs: number;
        maxSocketsPerSession: number;
        maxSocketsPerUser: number;
    };
}
export declare class ConfigError extends Error {
}
export declare function loadConfig(env?: Record<string, string | undefined>): AppConfig;
