// Placeholder for the live trace streams (issue 19); the trace work fills it in.

/** Where the SMTP server and client publish trace events, and WebSocket clients subscribe. */
export class TraceHub {}
