/**
 * `@cloudadmin/user-photos`: every eligible Entra ID user's profile photo from Microsoft Graph, named
 * after a user attribute, saved to a folder and/or an Azure Blob container, incrementally.
 *
 * @example
 * ```ts
 * import { syncUserPhotos } from "@cloudadmin/user-photos";
 * for await (const item of syncUserPhotos({ credential, outDir: "./photos", keyAttribute: "employeeId" })) {
 *   if (item.status === "saved") console.log(item.file);
 * }
 * ```
 */
export { syncUserPhotos, countByStatus, GRAPH_PHOTO_CONCURRENCY } from "./sync.js";
export { checkGraphAccess } from "./check.js";
export { probeGraphPhotos } from "./probe.js";
export type { ProbeGraphPhotosOptions, ProbeResult } from "./probe.js";
export type { CheckGraphAccessOptions } from "./check.js";
export type { SyncUserPhotosOptions, UserPhotoItem, UserPhotoStatus, UserPhotosProgress } from "./sync.js";
export { checkKey, extensionFor, keyIdentity } from "./keys.js";
export { GRAPH_PHOTO_SIZES } from "./photos.js";
export type { KeyCheck } from "./keys.js";
export { MANIFEST_NAME } from "./manifest.js";
export type { ManifestEntry, ManifestFile } from "./manifest.js";
export type { FetchLike } from "./graph.js";
export { openContainer } from "./container.js";
export type { OpenContainerOptions } from "./container.js";
