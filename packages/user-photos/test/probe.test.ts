import { type Simulator, startSimulator } from "@cloudadmin/cloud-sim";
import { afterEach, describe, expect, it } from "vitest";
import { probeGraphPhotos } from "../src/index.js";
import { type FixtureUser, PLACEHOLDER, dataset, fixedToken, photo } from "./helpers.js";

const MEDIA = /mediaEtag matches across \/photo and \$value/;
const NO_PHOTO = /without a photo is answered 404 ImageNotFound, or 200 with the 1x1 placeholder/;

let sim: Simulator | undefined;
afterEach(async () => {
  await sim?.close();
  sim = undefined;
});

async function probe(users: FixtureUser[], behaviour: Record<string, unknown> = {}, onPrem: number[] = []) {
  sim = await startSimulator({ dataset: { graph: dataset(users, onPrem) }, services: ["graph"] });
  (sim.service("graph") as unknown as { setPhotoBehaviour(p: object): void }).setPhotoBehaviour(behaviour);
  const results = await probeGraphPhotos({ credential: fixedToken(), endpoint: sim.httpsUrl, ca: sim.ca });
  expect(results.map((r) => r.provider)).toEqual(["graph", "graph"]);
  expect(results[0]?.assumption).toMatch(MEDIA);
  expect(results[1]?.assumption).toMatch(NO_PHOTO);
  for (const r of results) expect(r.detail).not.toContain("sim-graph-token");
  return { media: results[0], noPhoto: results[1], sim };
}

describe("probeGraphPhotos", () => {
  const users: FixtureUser[] = [
    { i: 1, employeeId: "A", photo: null },
    { i: 2, employeeId: "B", photo: null },
    { i: 3, employeeId: "C", photo: photo(3) },
  ];

  it("holds when $value's ETag is the mediaEtag, reading only one photo's bytes", async () => {
    const { media, noPhoto, sim } = await probe(users, { valueEtag: "media" }, [2]);
    expect(media).toMatchObject({ status: "holds", detail: `mediaEtag "P3" equals $value's ETag "P3"` });
    expect(noPhoto).toMatchObject({ status: "holds", detail: "seen: 404 ImageNotFound" });
    expect(sim.stats().byOperation["graph:GetPhotoValue"]).toBe(1);
    expect(sim.stats().byOperation["graph:GetPhoto"]).toBe(3);
  });

  it("cannot tell when $value sends no ETag header", async () => {
    const { media } = await probe(users, { valueEtag: "absent" });
    expect(media?.status).toBe("unknown");
    expect(media?.detail).toMatch(/no ETag header/);
  });

  it("differs when $value's ETag is another value, saying both", async () => {
    const { media } = await probe(users, { valueEtag: "different" });
    expect(media?.status).toBe("differs");
    expect(media?.detail).toMatch(/^\/photo says mediaEtag "P3", \$value's ETag is "[0-9A-F]{8}"$/);
  });

  it("reports the placeholder form of no photo, in either id spelling", async () => {
    for (const placeholderId of ["1x1", "1X1"]) {
      const { noPhoto } = await probe(
        [{ i: 1, employeeId: "A", photo: PLACEHOLDER }, users[2] as FixtureUser],
        { placeholderId },
      );
      expect(noPhoto).toMatchObject({
        status: "holds",
        detail: `seen: 200 with the placeholder (id "${placeholderId}")`,
      });
      await sim?.close();
      sim = undefined;
    }
  });

  it("cannot tell without a user with a photo, or when the endpoint is refused (no request sent)", async () => {
    const { media, noPhoto } = await probe([{ i: 1, employeeId: "A", photo: null }]);
    expect(media).toMatchObject({ status: "unknown", detail: "none of the 1 users listed has a photo" });
    expect(noPhoto?.status).toBe("holds");
    const refused = await probeGraphPhotos({
      credential: fixedToken(),
      endpoint: "http://graph.example.test",
    });
    expect(refused.map((r) => r.status)).toEqual(["unknown", "unknown"]);
    expect(refused[0]?.detail).toMatch(/refused.*plain http/);
  });
});
