'use strict'
// @vates/disposable is not on the npm registry this project reaches; see deduped.js.
