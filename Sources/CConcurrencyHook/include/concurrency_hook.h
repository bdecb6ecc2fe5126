#ifndef TEAMWIRE_CONCURRENCY_HOOK_H
#define TEAMWIRE_CONCURRENCY_HOOK_H

#include <stdbool.h>

/// Sets the Swift runtime's swift_task_enqueueGlobal_hook to `hook` if no hook is set yet.
/// Returns whether it did. The reference is resolved by the linker, so it also works in a
/// static-stdlib binary, whose runtime symbols dlsym cannot see.
bool teamwire_install_enqueue_global_hook(const void *hook);

#endif
