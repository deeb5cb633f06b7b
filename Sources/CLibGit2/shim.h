#include <git2.h>

/* git_libgit2_opts is variadic, which Swift cannot call: one inline wrapper per option we use. */
static inline int trueup_git_disable_owner_validation(void) {
    return git_libgit2_opts(GIT_OPT_SET_OWNER_VALIDATION, 0);
}

static inline int trueup_git_set_tree_cache_limit(size_t bytes) {
    return git_libgit2_opts(GIT_OPT_SET_CACHE_OBJECT_LIMIT, GIT_OBJECT_TREE, bytes);
}
