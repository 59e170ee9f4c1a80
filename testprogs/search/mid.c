/* libmid.so / libmidrn.so: need libleaf.so and report which copy was found. */
const char *leaf_where(void);
const char *mid_leaf(void) { return leaf_where(); }
