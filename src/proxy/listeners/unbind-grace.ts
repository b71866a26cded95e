// When an IP or port stops being served on this node, how long the
// connections it has open may run before they are cut (--unbind-grace).
// Apart from the listener manager so that the flags and the defaults of the
// proxy's options (read by every component's command line) do not load it.
export const DEFAULT_UNBIND_GRACE_MS = 30_000;
