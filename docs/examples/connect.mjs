// A stock nats.js client connecting through aaa-leafnode with a Choria token:
//   node connect.mjs tls://gateway:4222 ca.pem alice.jwt alice.key
// The token file holds the JWT; the key file the 32-byte ed25519 seed as 64 hex characters
// (what `choria login`, `aaa-leafnode login` and `aaa-leafnode token mint client` write).
import { createPrivateKey, sign } from "node:crypto";
import { readFileSync } from "node:fs";
import { connect } from "@nats-io/transport-node";

const [url, caFile, tokenFile, seedFile] = process.argv.slice(2);
const token = readFileSync(tokenFile, "utf8").trim();
const seed = Buffer.from(readFileSync(seedFile, "utf8").trim(), "hex");
// The seed as a PKCS#8 ed25519 private key: a fixed 16-byte DER prefix, then the seed.
const key = createPrivateKey({ key: Buffer.concat([Buffer.from("302e020100300506032b657004220420", "hex"), seed]), format: "der", type: "pkcs8" });

const nc = await connect({
  servers: url,
  tls: { caFile },
  // CONNECT carries the token (auth_token) and this connection's nonce signed with the
  // token's key (sig, base64 raw-URL), which proves the client holds that key.
  authenticator: (nonce) => ({ auth_token: token, sig: sign(null, Buffer.from(nonce ?? ""), key).toString("base64url") }),
});
console.log(`connected to ${nc.info?.server_name}, round trip ${await nc.rtt()} ms`);
await nc.close();
