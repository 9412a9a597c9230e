export { createCosmosClient, type CosmosClientOptions } from "./client.js";
export { createCosmosReader, type CosmosReaderOptions } from "./reader.js";
export { describeCosmosError } from "./errors.js";
