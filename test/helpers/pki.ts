// The test PKI is the shipped devkit's (openssl at test time, one per process, removed at exit).
export * from "../../src/devkit/pki.js";
