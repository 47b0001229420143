// m/b.cpp: the edge back to a.h.
#include "m/b.h"
#include "m/a.h"
