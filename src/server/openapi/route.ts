// GET /openapi.json: the OpenAPI 3.1 document of this app. registerOpenApi must run before any
// other route is registered: its onRoute hook collects the routes (method and URL pattern) as the
// router gets them, and the document, built on the first request, describes exactly those.
import { readFileSync } from "node:fs";
import type { FastifyInstance } from "fastify";
import {
  buildOpenApiDocument,
  routeKey,
  undocumentedRoutes,
  type OpenApiDocument,
  type RegisteredRoute,
} from "./document.js";

export interface OpenApiRoutes {
  /** Every route registered so far, but the HEAD twins Fastify adds for GET routes. */
  routes(): readonly RegisteredRoute[];
  /** The document (built once, on the first call: call it once the app is ready). */
  document(): OpenApiDocument;
}

declare module "fastify" {
  interface FastifyInstance {
    openApi: OpenApiRoutes;
  }
}

export function registerOpenApi(app: FastifyInstance): void {
  const routes: RegisteredRoute[] = [];
  app.addHook("onRoute", (route) => {
    for (const method of [route.method].flat()) {
      const twin = method === "HEAD" && routes.some((r) => r.method === "GET" && r.url === route.url);
      if (!twin) routes.push({ method, url: route.url });
    }
  });
  let document: OpenApiDocument | undefined;
  const openApi: OpenApiRoutes = {
    routes: () => routes,
    document: () => {
      if (document !== undefined) return document;
      const missing = undocumentedRoutes(routes);
      if (missing.length > 0)
        app.log.warn(
          { routes: missing.map(routeKey) },
          "routes missing from the OpenAPI document (src/server/openapi/routes.ts)",
        );
      return (document = buildOpenApiDocument(routes, packageVersion()));
    },
  };
  app.decorate("openApi", openApi);
  app.get("/openapi.json", async () => openApi.document());
}

function packageVersion(): string {
  try {
    const pkg = JSON.parse(readFileSync(new URL("../../../package.json", import.meta.url), "utf8")) as {
      version?: unknown;
    };
    return typeof pkg.version === "string" ? pkg.version : "0.0.0";
  } catch {
    return "0.0.0";
  }
}
