// A real nats-server hub with an mTLS leafnode port, from the shipped devkit (also used by the demo).
export * from "../../src/devkit/hub.js";
