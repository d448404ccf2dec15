/* liblrmlp: training multi-layer perceptrons, dense and low-rank.
 * Umbrella header: includes every public module header. */
#ifndef LRMLP_H
#define LRMLP_H

#include "lrmlp/common.h"
#include "lrmlp/activation.h"
#include "lrmlp/net.h"
#include "lrmlp/optim.h"
#include "lrmlp/dataset.h"
#include "lrmlp/train.h"
#include "lrmlp/model.h"
#include "lrmlp/lowrank.h"
#include "lrmlp/subspace.h"
#include "lrmlp/track.h"
#include "lrmlp/adapter.h"
#include "lrmlp/interop.h"
#include "lrmlp/infer.h"

#endif
