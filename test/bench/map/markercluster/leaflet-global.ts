import L from 'leaflet'

// Leaflet.markercluster is a UMD script that extends the global `L`: it has
// to exist before that module runs, so it is set here, in a module imported
// before it.
;(window as unknown as { L: typeof L }).L = L
