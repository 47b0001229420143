// Copyright: see LICENSE.
//
// HealthProbe (health_probe.h): the probe thread and the verdict it publishes.
#include "hub/health_probe.h"
