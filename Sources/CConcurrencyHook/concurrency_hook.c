#include "concurrency_hook.h"

// Declared in the Swift runtime (swift/Runtime/Concurrency.h) as a function pointer with the
// Swift calling convention; only its address matters here.
extern const void *swift_task_enqueueGlobal_hook;

bool teamwire_install_enqueue_global_hook(const void *hook) {
    const void *expected = 0;
    return __atomic_compare_exchange_n(&swift_task_enqueueGlobal_hook, &expected, hook, false,
                                       __ATOMIC_SEQ_CST, __ATOMIC_SEQ_CST);
}
