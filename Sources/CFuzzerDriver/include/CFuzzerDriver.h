#pragma once
#include <stddef.h>
#include <stdint.h>

// libFuzzer's driver (compiler-rt's libclang_rt.fuzzer, linked by -sanitize=fuzzer). SwiftPM
// links an executable target's entry point as `main`, which keeps libFuzzer's own main out, so
// the fuzz build's entry point calls the driver itself. Declared only: the normal build never
// calls it, and has no libFuzzer to link.
int LLVMFuzzerRunDriver(int *argc, char ***argv, int (*callback)(const uint8_t *data, size_t size));
