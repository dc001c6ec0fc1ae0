/** VERSION is the package version (package.json's, kept equal by a test). */
export const VERSION = '0.1.0';
