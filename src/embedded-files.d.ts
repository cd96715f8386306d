// Types of the files imported `with { type: 'file' }` (src/docs/swagger-assets.ts, src/ui/dashboard-assets.ts): such an import
// is the file's path, a string, whatever the file holds. TypeScript cannot see the import
// attribute, so each module is declared here.
declare module 'swagger-ui-dist/swagger-ui.css' {
  const path: string
  export default path
}
declare module 'swagger-ui-dist/swagger-ui-bundle.js' {
  const path: string
  export default path
}
declare module 'swagger-ui-dist/favicon-32x32.png' {
  const path: string
  export default path
}
declare module 'uplot/dist/uPlot.iife.min.js' {
  const path: string
  export default path
}
declare module 'uplot/dist/uPlot.min.css' {
  const path: string
  export default path
}
declare module '*.css' {
  const path: string
  export default path
}
