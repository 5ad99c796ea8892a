// Package geo is the one GeoJSON geometry of the node: the parser for the
// GeoJSON the server accepts, the predicates queries and filter expressions
// answer (does a region contain a point), and the bounds a secondary index
// needs to cover a region with cells. Filter expressions (expr) and
// geo indexes (sindex) both use it, so a predicate asked either way gets
// the same answer for every point and region.
//
// # Model
//
// The server's geometry comes from S2: a point is a leaf cell, a polygon a
// set of loops with geodesic edges, a circle (AeroCircle) a spherical cap.
// This package keeps the same model with plain spherical geometry:
//
//   - A cap contains the points within its radius by great-circle
//     (haversine) distance on a sphere of EarthRadius.
//   - A loop contains a point by ray casting in the gnomonic projection
//     centred on the point, where geodesic edges are straight lines. As
//     with S2's normalized loops, a loop's inside is its smaller side.
//   - A polygon contains what an odd number of its loops contain (its
//     holes are the loops inside others); a MultiPolygon is the union of
//     its polygons.
//
// The parser follows the server's (as/src/geospatial/geojson.cc): a Point,
// Polygon, MultiPolygon or AeroCircle geometry, or a Feature holding one;
// positions of exactly two numbers, [longitude, latitude]; loops closed,
// of at least four positions once repeated consecutive ones are dropped.
// It is stricter in three places, where the server would build a region
// that contains nothing: a Polygon without loops, a MultiPolygon without
// polygons and a circle of negative radius are errors. FuzzParse holds it
// to a reference parser built on encoding/json.
//
// # Coverings
//
// A geo index keys a region by cells that cover it (package sindex). Cover
// gives a covering what it needs, bounds and a rectangle test that err only
// towards yes, so that every point Contains accepts lies under the
// covering: TestCoverProperty checks it on random shapes, and sindex's
// TestGeoIndexAgreesWithFilter checks that a query through an index and a
// filter expression find the same records.
//
// # Caveats
//
//   - A loop is tested in the gnomonic projection around its center, the
//     same whichever point is asked about, so a loop across the
//     antimeridian is the small one there. A loop too large for the
//     hemisphere around its center (some vertex 90° or more away) is tested
//     in longitude/latitude with straight edges instead, where S2 would
//     keep the geodesic loop. Coverings hold both regions.
//   - Points on an edge or vertex may be classified either way, as with
//     any floating-point ray casting; S2 decides them by its own rules.
//   - Shapes are immutable once parsed and safe for concurrent use.
package geo
