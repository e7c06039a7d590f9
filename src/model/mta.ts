export interface MtaEvidence {
  /** Row of the evidence table. */
  rule: string;
  what: string;
  /** The text it was seen in, as the server sent it. */
  seen: string;
}

export interface MtaIdentity {
  /** The MTA, or "unknown" when nothing distinctive was seen or the hints disagree. */
  name: string;
  version: string | null;
  confidence: 'high' | 'medium' | 'low' | 'none';
  evidence: MtaEvidence[];
}
