/** The little of ua-parser-js 1.x (MIT, no bundled types) that Ferry uses. */
declare module 'ua-parser-js' {
  export interface IBrowser {
    name?: string;
    version?: string;
    major?: string;
  }
  export class UAParser {
    constructor(userAgent?: string);
    getBrowser(): IBrowser;
  }
}
