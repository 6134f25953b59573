// Placeholder: the typed event map (written by the API helper).
// biome-ignore lint/suspicious/noEmptyInterface: filled in by the API work.
export interface PolicyEvents {}
