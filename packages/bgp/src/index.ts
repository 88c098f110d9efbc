// The public surface of @popwatch/bgp: the readers other packages use.
export {};
