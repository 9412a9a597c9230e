// @azure/functions is CommonJS; under ESM its named exports are only reachable through the default export.
import functions from "@azure/functions";

export const { app, CosmosDBv4ChangeFeedMode } = functions;
export type {
  HttpRequest,
  HttpResponseInit,
  InvocationContext,
  Timer,
  CosmosDBv4FunctionOptions,
} from "@azure/functions";
