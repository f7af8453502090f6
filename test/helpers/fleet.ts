// The simulated Choria fleet on the hub, from the shipped devkit (also used by the demo).
export * from "../../src/devkit/fleet.js";
