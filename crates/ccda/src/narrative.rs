//! A section's narrative (`<text>`) as HTML for display. (Filled in by the viewer work.)
