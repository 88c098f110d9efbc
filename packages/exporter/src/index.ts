// The public surface of @popwatch/exporter: what the CLI's `exporter` command uses.
export {};
