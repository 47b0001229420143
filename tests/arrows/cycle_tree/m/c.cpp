// m/c.cpp
#include "m/c_impl.h"
