/** What TLS looked like. Certificates are not enforced (a relay test is not a TLS audit), only reported. */
export interface TlsInfo {
  protocol: string | null;
  /** TLS 1.1 or older (RFC 8996 deprecates them): entered anyway (see TEST_TLS), and said so. */
  legacy: boolean;
  cipher: string | null;
  /** Whether the certificate would pass a normal client's check (chain and, for names, identity). */
  verified: boolean;
  /** Why it would not. */
  verifyError: string | null;
  subject: string | null;
}

/** One line of the conversation, as the report shows it. */
export interface TranscriptLine {
  /** C: we sent it; S: the server sent it; *: an event (connect, close, error). */
  dir: 'C' | 'S' | '*';
  text: string;
  /** Milliseconds since the session started. */
  at: number;
}
