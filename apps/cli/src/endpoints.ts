/** The CLI checks endpoint overrides with the one shared policy of `@cloudadmin/auth`. */
export { checkEndpoint } from "@cloudadmin/auth";
