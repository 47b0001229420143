// Copyright: see LICENSE.
//
// WorkPool (work_pool.h): the worker threads and their bounded queue.
#include "hub/work_pool.h"
