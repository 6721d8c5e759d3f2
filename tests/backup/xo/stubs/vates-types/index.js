'use strict'
// @vates/types (TypeScript types only) is not on the npm registry this project reaches.
