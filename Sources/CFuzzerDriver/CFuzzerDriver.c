// The declaration in include/CFuzzerDriver.h is the whole module (a C target needs a source file).
#include "CFuzzerDriver.h"
