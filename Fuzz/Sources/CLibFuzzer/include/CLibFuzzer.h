#ifndef IMG2VID_CLIBFUZZER_H
#define IMG2VID_CLIBFUZZER_H
#include <stddef.h>
#include <stdint.h>

/// libFuzzer's driver (compiler-rt, linked by -sanitize=fuzzer). SwiftPM gives every executable
/// its own `main`, which hides libFuzzer's, so the harnesses call the driver from theirs.
int LLVMFuzzerRunDriver(int *argc, char ***argv, int (*callback)(const uint8_t *data, size_t size));

#endif
