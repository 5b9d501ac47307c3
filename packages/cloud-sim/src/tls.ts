import selfsigned from "selfsigned";

export interface SimCertificate {
  /** PEM private key. */
  key: string;
  /** PEM certificate: trust this one (NODE_EXTRA_CA_CERTS, `ca` options). */
  cert: string;
}

/**
 * A self-signed certificate for the loopback HTTPS listener, valid for localhost, 127.0.0.1 and ::1.
 * It is its own CA (basicConstraints cA), so clients can trust it directly. EC P-256 keeps
 * generation around 30 ms, so every simulator start gets a fresh one.
 */
export async function generateSimCertificate(): Promise<SimCertificate> {
  const now = new Date();
  const pems = await selfsigned.generate([{ name: "commonName", value: "cloudadmin-sim" }], {
    keyType: "ec",
    curve: "P-256",
    algorithm: "sha256",
    notBeforeDate: new Date(now.getTime() - 60 * 60 * 1000),
    notAfterDate: new Date(now.getTime() + 30 * 24 * 60 * 60 * 1000),
    extensions: [
      { name: "basicConstraints", cA: true, critical: true },
      { name: "keyUsage", digitalSignature: true, keyCertSign: true, critical: true },
      { name: "extKeyUsage", serverAuth: true },
      {
        name: "subjectAltName",
        altNames: [
          { type: 2, value: "localhost" },
          { type: 7, ip: "127.0.0.1" },
          { type: 7, ip: "::1" },
        ],
      },
    ],
  });
  return { key: pems.private, cert: pems.cert };
}
