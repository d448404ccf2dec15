! liblrmlp for Fortran 2008: the module `lrmlp` (docs/fortran.md).
!
! A thin ISO_C_BINDING layer over the C API. Handles are type(c_ptr)
! (c_null_ptr when empty); every function returning integer(c_int) returns
! LRMLP_OK (0) or a negative LRMLP_ERR_* status, and lrmlp_last_errmsg()
! then describes the most recent failure on the calling thread.
!
! Options structs are BIND(C) derived types with the C structs' exact
! layout; fill them with the lrmlp_*_options_init subroutines (which call the
! C initializers, so every field gets its documented default) and change
! the fields you need.
!
! Data layout: the C library takes a batch of n samples of width d as a
! row-major n x d array, which is the same memory as a Fortran array X(d, n)
! (one column per sample). The array wrappers below pass Fortran arrays to C
! without copying them, provided they are contiguous, and check their
! extents against the network first: an extent that does not match returns
! LRMLP_ERR_SHAPE without calling C, and records that status and a message
! through lrmlp_error_set, so lrmlp_last_errmsg() and lrmlp_last_status()
! describe it like any other failure. Weight matrices likewise: the C
! layer's row-major out x in W_l is a Fortran W(in, out).
!
! Layer indices are 0-based, as in C.
!
! Threads: as in C. One handle is used by one thread at a time; distinct
! handles may be used from distinct threads (or OpenMP tasks) at once.
module lrmlp
    use, intrinsic :: iso_c_binding
    use, intrinsic :: iso_fortran_env, only: real32, real64
    implicit none
    private

    ! ---- status codes (lrmlp_status) ----
    integer(c_int), parameter, public :: LRMLP_OK = 0
    integer(c_int), parameter, public :: LRMLP_ERR_NOMEM = -1
    integer(c_int), parameter, public :: LRMLP_ERR_INVALID = -2
    integer(c_int), parameter, public :: LRMLP_ERR_SHAPE = -3
    integer(c_int), parameter, public :: LRMLP_ERR_DTYPE = -4
    integer(c_int), parameter, public :: LRMLP_ERR_NONFINITE = -5
    integer(c_int), parameter, public :: LRMLP_ERR_DIVERGED = -6
    integer(c_int), parameter, public :: LRMLP_ERR_IO = -7
    integer(c_int), parameter, public :: LRMLP_ERR_FORMAT = -8
    integer(c_int), parameter, public :: LRMLP_ERR_CHECKSUM = -9
    integer(c_int), parameter, public :: LRMLP_ERR_VERSION = -10
    integer(c_int), parameter, public :: LRMLP_ERR_LINALG = -11
    integer(c_int), parameter, public :: LRMLP_ERR_STOPPED = -12
    integer(c_int), parameter, public :: LRMLP_ERR_UNSUPPORTED = -13
    integer(c_int), parameter, public :: LRMLP_ERR_STATE = -14

    ! ---- precision (lrmlp_dtype) ----
    integer(c_int), parameter, public :: LRMLP_F32 = 1
    integer(c_int), parameter, public :: LRMLP_F64 = 2

    ! ---- activations (lrmlp_activation) ----
    integer(c_int), parameter, public :: LRMLP_ACT_IDENTITY = 0
    integer(c_int), parameter, public :: LRMLP_ACT_TANH = 1
    integer(c_int), parameter, public :: LRMLP_ACT_SIGMOID = 2
    integer(c_int), parameter, public :: LRMLP_ACT_SOFTPLUS = 3
    integer(c_int), parameter, public :: LRMLP_ACT_ELU = 4
    integer(c_int), parameter, public :: LRMLP_ACT_GELU = 5
    integer(c_int), parameter, public :: LRMLP_ACT_GELU_TANH = 6
    integer(c_int), parameter, public :: LRMLP_ACT_SILU = 7
    integer(c_int), parameter, public :: LRMLP_ACT_RELU = 8
    integer(c_int), parameter, public :: LRMLP_ACT_LEAKY_RELU = 9
    integer(c_int), parameter, public :: LRMLP_ACT_RRELU = 10

    ! ---- losses (lrmlp_loss) ----
    integer(c_int), parameter, public :: LRMLP_LOSS_SSE = 0
    integer(c_int), parameter, public :: LRMLP_LOSS_MSE = 1
    integer(c_int), parameter, public :: LRMLP_LOSS_CROSS_ENTROPY = 2

    ! ---- initializers (lrmlp_init) ----
    integer(c_int), parameter, public :: LRMLP_INIT_TORCH_DEFAULT = 0
    integer(c_int), parameter, public :: LRMLP_INIT_ORTHOGONAL = 1
    integer(c_int), parameter, public :: LRMLP_INIT_GAUSSIAN = 2
    integer(c_int), parameter, public :: LRMLP_INIT_XAVIER_UNIFORM = 3
    integer(c_int), parameter, public :: LRMLP_INIT_XAVIER_NORMAL = 4
    integer(c_int), parameter, public :: LRMLP_INIT_HE_UNIFORM = 5
    integer(c_int), parameter, public :: LRMLP_INIT_HE_NORMAL = 6
    integer(c_int), parameter, public :: LRMLP_INIT_ZERO = 7

    ! ---- optimizers and schedules ----
    integer(c_int), parameter, public :: LRMLP_OPTIM_GD = 0
    integer(c_int), parameter, public :: LRMLP_OPTIM_SGD = 1
    integer(c_int), parameter, public :: LRMLP_OPTIM_ADAM = 2
    integer(c_int), parameter, public :: LRMLP_OPTIM_ADAMW = 3
    integer(c_int), parameter, public :: LRMLP_OPTIM_MUON = 4
    integer(c_int), parameter, public :: LRMLP_SCHEDULE_CONSTANT = 0
    integer(c_int), parameter, public :: LRMLP_SCHEDULE_COSINE = 1
    integer(c_int), parameter, public :: LRMLP_SCHEDULE_STEP = 2

    ! ---- deployment (infer.h) ----
    integer(c_int), parameter, public :: LRMLP_PREDICT_RAW = 1
    integer(c_int), parameter, public :: LRMLP_PREP_INPUT_DIAGONAL = 1
    integer(c_int), parameter, public :: LRMLP_PREP_INPUT_AFFINE = 2
    integer(c_int), parameter, public :: LRMLP_PREP_OUTPUT = 4

    ! ---- options struct versions this module's types have ----
    integer(c_int), parameter, public :: LRMLP_NET_OPTIONS_VERSION = 1
    integer(c_int), parameter, public :: LRMLP_OPTIM_OPTIONS_VERSION = 1
    integer(c_int), parameter, public :: LRMLP_TRAIN_OPTIONS_VERSION = 3

    ! lrmlp_net_options (net.h). widths points to n_layers + 1 integer(c_size_t)
    ! values, activations (optional) to n_layers integer(c_int) values; both
    ! need the TARGET attribute and are copied by lrmlp_net_create. Unsigned
    ! C fields (version, seed) are their signed Fortran counterparts.
    type, bind(c), public :: lrmlp_net_options
        integer(c_int) :: version
        integer(c_int) :: dtype
        integer(c_size_t) :: n_layers
        type(c_ptr) :: widths
        integer(c_int) :: hidden_activation
        integer(c_int) :: output_activation
        type(c_ptr) :: activations
        integer(c_int) :: bias
        integer(c_int64_t) :: seed
        integer(c_int) :: init
        real(c_double) :: init_scale
    end type

    ! lrmlp_optim_options (optim.h).
    type, bind(c), public :: lrmlp_optim_options
        integer(c_int) :: version
        integer(c_int) :: kind
        real(c_double) :: lr
        real(c_double) :: momentum
        integer(c_int) :: nesterov
        real(c_double) :: beta1, beta2
        real(c_double) :: eps
        real(c_double) :: weight_decay
        real(c_double) :: clip_norm
        integer(c_int) :: ns_steps
        integer(c_int) :: schedule
        integer(c_int64_t) :: total_steps
        real(c_double) :: min_lr
        integer(c_int64_t) :: step_size
        real(c_double) :: gamma
        integer(c_int64_t) :: warmup_steps
    end type

    ! lrmlp_train_options (train.h). The callbacks are C function pointers
    ! (c_funloc of a BIND(C) procedure), c_null_funptr for none.
    type, bind(c), public :: lrmlp_train_options
        integer(c_int) :: version
        integer(c_int) :: loss
        integer(c_size_t) :: batch_size
        integer(c_int) :: shuffle
        type(c_funptr) :: on_step
        type(c_ptr) :: on_step_user
        type(c_funptr) :: allreduce
        type(c_ptr) :: allreduce_user
        ! version 2
        type(c_ptr) :: order
        integer(c_size_t) :: shard_count
        integer(c_size_t) :: shard_index
        ! version 3
        type(c_funptr) :: grad_ready
        type(c_ptr) :: grad_ready_user
    end type

    ! lrmlp_epoch_stats and lrmlp_eval_result (train.h).
    type, bind(c), public :: lrmlp_epoch_stats
        real(c_double) :: loss
        real(c_double) :: accuracy
        integer(c_size_t) :: samples
        integer(c_size_t) :: steps
        real(c_double) :: seconds
    end type

    type, bind(c), public :: lrmlp_eval_result
        real(c_double) :: loss
        real(c_double) :: accuracy
        integer(c_size_t) :: samples
    end type

    ! ---- direct bindings: the C functions under their C names ----
    public :: lrmlp_version_number, lrmlp_last_status, lrmlp_error_clear, lrmlp_error_set
    public :: lrmlp_net_options_init, lrmlp_net_create, lrmlp_net_clone, lrmlp_net_free
    public :: lrmlp_net_dtype, lrmlp_net_n_layers, lrmlp_net_width, lrmlp_net_param_count
    public :: lrmlp_net_get_weights_f32, lrmlp_net_get_weights_f64
    public :: lrmlp_net_set_weights_f32, lrmlp_net_set_weights_f64
    public :: lrmlp_net_get_bias_f32, lrmlp_net_get_bias_f64
    public :: lrmlp_net_set_bias_f32, lrmlp_net_set_bias_f64
    public :: lrmlp_optim_options_init, lrmlp_optim_create, lrmlp_optim_free, lrmlp_optim_steps
    public :: lrmlp_dataset_free, lrmlp_dataset_size, lrmlp_dataset_dim
    public :: lrmlp_train_options_init, lrmlp_train_epoch, lrmlp_evaluate, lrmlp_net_epochs
    public :: lrmlp_net_preprocessing, lrmlp_net_clear_preprocessing
    public :: lrmlp_net_set_preprocessing_from_dataset
    public :: lrmlp_model_from_net, lrmlp_model_free, lrmlp_model_dtype
    public :: lrmlp_model_input_dim, lrmlp_model_output_dim, lrmlp_model_memory
    public :: lrmlp_infer_ws_create, lrmlp_infer_ws_free, lrmlp_infer_ws_size

    ! ---- Fortran wrappers (strings, arrays, optional arguments) ----
    public :: lrmlp_version, lrmlp_strerror, lrmlp_last_errmsg
    public :: lrmlp_net_create_shape
    public :: lrmlp_predict, lrmlp_dataset_create, lrmlp_dataset_create_labels
    public :: lrmlp_model_save, lrmlp_model_load
    public :: lrmlp_model_read, lrmlp_model_predict
    public :: lrmlp_net_set_input_standardize, lrmlp_net_set_input_affine
    public :: lrmlp_net_set_output_affine

    interface
        integer(c_int) function lrmlp_version_number() bind(c, name='lrmlp_version_number')
            import :: c_int
        end function

        type(c_ptr) function c_version_string() bind(c, name='lrmlp_version_string')
            import :: c_ptr
        end function

        type(c_ptr) function c_strerror(status) bind(c, name='lrmlp_strerror')
            import :: c_ptr, c_int
            integer(c_int), value :: status
        end function

        type(c_ptr) function c_last_errmsg() bind(c, name='lrmlp_last_errmsg')
            import :: c_ptr
        end function

        ! Status of the most recent failed call on this thread.
        integer(c_int) function lrmlp_last_status() bind(c, name='lrmlp_last_status')
            import :: c_int
        end function

        ! Forgets this thread's last error.
        subroutine lrmlp_error_clear() bind(c, name='lrmlp_error_clear')
        end subroutine

        ! Records status and msg (a C string: end it with c_null_char) as this
        ! thread's last error; returns status.
        integer(c_int) function lrmlp_error_set(status, msg) bind(c, name='lrmlp_error_set')
            import :: c_int, c_char
            integer(c_int), value :: status
            character(kind=c_char), intent(in) :: msg(*)
        end function

        integer(c_size_t) function c_strlen(s) bind(c, name='strlen')
            import :: c_size_t, c_ptr
            type(c_ptr), value :: s
        end function

        ! ---- networks (net.h) ----
        integer(c_int) function lrmlp_net_options_init(opts, version) &
                bind(c, name='lrmlp_net_options_init')
            import :: c_int, lrmlp_net_options
            type(lrmlp_net_options), intent(out) :: opts
            integer(c_int), value :: version
        end function

        integer(c_int) function lrmlp_net_create(net, opts) bind(c, name='lrmlp_net_create')
            import :: c_int, c_ptr, lrmlp_net_options
            type(c_ptr), intent(out) :: net
            type(lrmlp_net_options), intent(in) :: opts
        end function

        integer(c_int) function lrmlp_net_clone(net, src) bind(c, name='lrmlp_net_clone')
            import :: c_int, c_ptr
            type(c_ptr), intent(out) :: net
            type(c_ptr), value :: src
        end function

        subroutine lrmlp_net_free(net) bind(c, name='lrmlp_net_free')
            import :: c_ptr
            type(c_ptr), value :: net
        end subroutine

        integer(c_int) function lrmlp_net_dtype(net) bind(c, name='lrmlp_net_dtype')
            import :: c_int, c_ptr
            type(c_ptr), value :: net
        end function

        integer(c_size_t) function lrmlp_net_n_layers(net) bind(c, name='lrmlp_net_n_layers')
            import :: c_size_t, c_ptr
            type(c_ptr), value :: net
        end function

        integer(c_size_t) function lrmlp_net_width(net, i) bind(c, name='lrmlp_net_width')
            import :: c_size_t, c_ptr
            type(c_ptr), value :: net
            integer(c_size_t), value :: i
        end function

        integer(c_size_t) function lrmlp_net_param_count(net) &
                bind(c, name='lrmlp_net_param_count')
            import :: c_size_t, c_ptr
            type(c_ptr), value :: net
        end function

        ! W is the layer's weights as a Fortran W(in, out); b has out entries.
        integer(c_int) function lrmlp_net_get_weights_f32(net, layer, W) &
                bind(c, name='lrmlp_net_get_weights_f32')
            import :: c_int, c_ptr, c_size_t, c_float
            type(c_ptr), value :: net
            integer(c_size_t), value :: layer
            real(c_float), intent(out) :: W(*)
        end function

        integer(c_int) function lrmlp_net_get_weights_f64(net, layer, W) &
                bind(c, name='lrmlp_net_get_weights_f64')
            import :: c_int, c_ptr, c_size_t, c_double
            type(c_ptr), value :: net
            integer(c_size_t), value :: layer
            real(c_double), intent(out) :: W(*)
        end function

        integer(c_int) function lrmlp_net_set_weights_f32(net, layer, W) &
                bind(c, name='lrmlp_net_set_weights_f32')
            import :: c_int, c_ptr, c_size_t, c_float
            type(c_ptr), value :: net
            integer(c_size_t), value :: layer
            real(c_float), intent(in) :: W(*)
        end function

        integer(c_int) function lrmlp_net_set_weights_f64(net, layer, W) &
                bind(c, name='lrmlp_net_set_weights_f64')
            import :: c_int, c_ptr, c_size_t, c_double
            type(c_ptr), value :: net
            integer(c_size_t), value :: layer
            real(c_double), intent(in) :: W(*)
        end function

        integer(c_int) function lrmlp_net_get_bias_f32(net, layer, b) &
                bind(c, name='lrmlp_net_get_bias_f32')
            import :: c_int, c_ptr, c_size_t, c_float
            type(c_ptr), value :: net
            integer(c_size_t), value :: layer
            real(c_float), intent(out) :: b(*)
        end function

        integer(c_int) function lrmlp_net_get_bias_f64(net, layer, b) &
                bind(c, name='lrmlp_net_get_bias_f64')
            import :: c_int, c_ptr, c_size_t, c_double
            type(c_ptr), value :: net
            integer(c_size_t), value :: layer
            real(c_double), intent(out) :: b(*)
        end function

        integer(c_int) function lrmlp_net_set_bias_f32(net, layer, b) &
                bind(c, name='lrmlp_net_set_bias_f32')
            import :: c_int, c_ptr, c_size_t, c_float
            type(c_ptr), value :: net
            integer(c_size_t), value :: layer
            real(c_float), intent(in) :: b(*)
        end function

        integer(c_int) function lrmlp_net_set_bias_f64(net, layer, b) &
                bind(c, name='lrmlp_net_set_bias_f64')
            import :: c_int, c_ptr, c_size_t, c_double
            type(c_ptr), value :: net
            integer(c_size_t), value :: layer
            real(c_double), intent(in) :: b(*)
        end function

        integer(c_int) function c_predict_f32(net, X, n, Y) bind(c, name='lrmlp_net_predict_f32')
            import :: c_int, c_ptr, c_size_t, c_float
            type(c_ptr), value :: net
            real(c_float), intent(in) :: X(*)
            integer(c_size_t), value :: n
            real(c_float), intent(out) :: Y(*)
        end function

        integer(c_int) function c_predict_f64(net, X, n, Y) bind(c, name='lrmlp_net_predict_f64')
            import :: c_int, c_ptr, c_size_t, c_double
            type(c_ptr), value :: net
            real(c_double), intent(in) :: X(*)
            integer(c_size_t), value :: n
            real(c_double), intent(out) :: Y(*)
        end function

        ! ---- optimizers (optim.h) ----
        integer(c_int) function lrmlp_optim_options_init(opts, version) &
                bind(c, name='lrmlp_optim_options_init')
            import :: c_int, lrmlp_optim_options
            type(lrmlp_optim_options), intent(out) :: opts
            integer(c_int), value :: version
        end function

        integer(c_int) function lrmlp_optim_create(opt, net, opts) &
                bind(c, name='lrmlp_optim_create')
            import :: c_int, c_ptr, lrmlp_optim_options
            type(c_ptr), intent(out) :: opt
            type(c_ptr), value :: net
            type(lrmlp_optim_options), intent(in) :: opts
        end function

        subroutine lrmlp_optim_free(opt) bind(c, name='lrmlp_optim_free')
            import :: c_ptr
            type(c_ptr), value :: opt
        end subroutine

        integer(c_int64_t) function lrmlp_optim_steps(opt) bind(c, name='lrmlp_optim_steps')
            import :: c_int64_t, c_ptr
            type(c_ptr), value :: opt
        end function

        ! ---- datasets (dataset.h) ----
        integer(c_int) function c_dataset_from_targets_f32(ds, X, n, d, T, nt) &
                bind(c, name='lrmlp_dataset_from_targets_f32')
            import :: c_int, c_ptr, c_size_t, c_float
            type(c_ptr), intent(out) :: ds
            real(c_float), intent(in) :: X(*)
            integer(c_size_t), value :: n, d
            real(c_float), intent(in) :: T(*)
            integer(c_size_t), value :: nt
        end function

        integer(c_int) function c_dataset_from_targets_f64(ds, X, n, d, T, nt) &
                bind(c, name='lrmlp_dataset_from_targets_f64')
            import :: c_int, c_ptr, c_size_t, c_double
            type(c_ptr), intent(out) :: ds
            real(c_double), intent(in) :: X(*)
            integer(c_size_t), value :: n, d
            real(c_double), intent(in) :: T(*)
            integer(c_size_t), value :: nt
        end function

        integer(c_int) function c_dataset_from_labels_f32(ds, X, n, d, labels, nc) &
                bind(c, name='lrmlp_dataset_from_labels_f32')
            import :: c_int, c_ptr, c_size_t, c_float, c_int32_t
            type(c_ptr), intent(out) :: ds
            real(c_float), intent(in) :: X(*)
            integer(c_size_t), value :: n, d
            integer(c_int32_t), intent(in) :: labels(*)
            integer(c_size_t), value :: nc
        end function

        integer(c_int) function c_dataset_from_labels_f64(ds, X, n, d, labels, nc) &
                bind(c, name='lrmlp_dataset_from_labels_f64')
            import :: c_int, c_ptr, c_size_t, c_double, c_int32_t
            type(c_ptr), intent(out) :: ds
            real(c_double), intent(in) :: X(*)
            integer(c_size_t), value :: n, d
            integer(c_int32_t), intent(in) :: labels(*)
            integer(c_size_t), value :: nc
        end function

        subroutine lrmlp_dataset_free(ds) bind(c, name='lrmlp_dataset_free')
            import :: c_ptr
            type(c_ptr), value :: ds
        end subroutine

        integer(c_size_t) function lrmlp_dataset_size(ds) bind(c, name='lrmlp_dataset_size')
            import :: c_size_t, c_ptr
            type(c_ptr), value :: ds
        end function

        integer(c_size_t) function lrmlp_dataset_dim(ds) bind(c, name='lrmlp_dataset_dim')
            import :: c_size_t, c_ptr
            type(c_ptr), value :: ds
        end function

        ! ---- training (train.h) ----
        integer(c_int) function lrmlp_train_options_init(opts, version) &
                bind(c, name='lrmlp_train_options_init')
            import :: c_int, lrmlp_train_options
            type(lrmlp_train_options), intent(out) :: opts
            integer(c_int), value :: version
        end function

        ! One epoch; stats receives the epoch's loss, steps and time.
        integer(c_int) function lrmlp_train_epoch(net, opt, ds, opts, stats) &
                bind(c, name='lrmlp_train_epoch')
            import :: c_int, c_ptr, lrmlp_train_options, lrmlp_epoch_stats
            type(c_ptr), value :: net, opt, ds
            type(lrmlp_train_options), intent(in) :: opts
            type(lrmlp_epoch_stats), intent(out) :: stats
        end function

        integer(c_int) function lrmlp_evaluate(net, ds, loss, batch_size, res) &
                bind(c, name='lrmlp_evaluate')
            import :: c_int, c_ptr, c_size_t, lrmlp_eval_result
            type(c_ptr), value :: net, ds
            integer(c_int), value :: loss
            integer(c_size_t), value :: batch_size
            type(lrmlp_eval_result), intent(out) :: res
        end function

        integer(c_int64_t) function lrmlp_net_epochs(net) bind(c, name='lrmlp_net_epochs')
            import :: c_int64_t, c_ptr
            type(c_ptr), value :: net
        end function

        ! ---- model files (model.h) ----
        integer(c_int) function c_model_save(net, opt, path) bind(c, name='lrmlp_model_save')
            import :: c_int, c_ptr, c_char
            type(c_ptr), value :: net, opt
            character(kind=c_char), intent(in) :: path(*)
        end function

        integer(c_int) function c_model_load(path, net, opt) bind(c, name='lrmlp_model_load')
            import :: c_int, c_ptr, c_char
            character(kind=c_char), intent(in) :: path(*)
            type(c_ptr), intent(out) :: net
            type(c_ptr), value :: opt
        end function

        ! ---- deployment (infer.h) ----
        ! Vectors (mean, std, M, c, scale, shift) are real64; checked by the
        ! wrappers below, which call these.
        integer(c_int) function c_set_input_standardize(net, mean, std) &
                bind(c, name='lrmlp_net_set_input_standardize')
            import :: c_int, c_ptr, c_double
            type(c_ptr), value :: net
            real(c_double), intent(in) :: mean(*), std(*)
        end function

        integer(c_int) function c_set_input_affine(net, M, c) &
                bind(c, name='lrmlp_net_set_input_affine')
            import :: c_int, c_ptr, c_double
            type(c_ptr), value :: net
            real(c_double), intent(in) :: M(*)
            type(c_ptr), value :: c
        end function

        integer(c_int) function c_set_output_affine(net, scale, shift) &
                bind(c, name='lrmlp_net_set_output_affine')
            import :: c_int, c_ptr, c_double
            type(c_ptr), value :: net
            real(c_double), intent(in) :: scale(*)
            type(c_ptr), value :: shift
        end function

        subroutine lrmlp_net_clear_preprocessing(net) &
                bind(c, name='lrmlp_net_clear_preprocessing')
            import :: c_ptr
            type(c_ptr), value :: net
        end subroutine

        integer(c_int) function lrmlp_net_set_preprocessing_from_dataset(net, ds) &
                bind(c, name='lrmlp_net_set_preprocessing_from_dataset')
            import :: c_int, c_ptr
            type(c_ptr), value :: net, ds
        end function

        ! A bit set of LRMLP_PREP_* (test with iand).
        integer(c_int) function lrmlp_net_preprocessing(net) &
                bind(c, name='lrmlp_net_preprocessing')
            import :: c_int, c_ptr
            type(c_ptr), value :: net
        end function

        integer(c_int) function lrmlp_model_from_net(model, net) &
                bind(c, name='lrmlp_model_from_net')
            import :: c_int, c_ptr
            type(c_ptr), intent(out) :: model
            type(c_ptr), value :: net
        end function

        integer(c_int) function c_model_read(model, path) bind(c, name='lrmlp_model_read')
            import :: c_int, c_ptr, c_char
            type(c_ptr), intent(out) :: model
            character(kind=c_char), intent(in) :: path(*)
        end function

        subroutine lrmlp_model_free(model) bind(c, name='lrmlp_model_free')
            import :: c_ptr
            type(c_ptr), value :: model
        end subroutine

        integer(c_int) function lrmlp_model_dtype(model) bind(c, name='lrmlp_model_dtype')
            import :: c_int, c_ptr
            type(c_ptr), value :: model
        end function

        integer(c_size_t) function lrmlp_model_input_dim(model) &
                bind(c, name='lrmlp_model_input_dim')
            import :: c_size_t, c_ptr
            type(c_ptr), value :: model
        end function

        integer(c_size_t) function lrmlp_model_output_dim(model) &
                bind(c, name='lrmlp_model_output_dim')
            import :: c_size_t, c_ptr
            type(c_ptr), value :: model
        end function

        integer(c_size_t) function lrmlp_model_memory(model) bind(c, name='lrmlp_model_memory')
            import :: c_size_t, c_ptr
            type(c_ptr), value :: model
        end function

        integer(c_int) function lrmlp_infer_ws_create(ws, model, max_batch) &
                bind(c, name='lrmlp_infer_ws_create')
            import :: c_int, c_ptr, c_size_t
            type(c_ptr), intent(out) :: ws
            type(c_ptr), value :: model
            integer(c_size_t), value :: max_batch
        end function

        subroutine lrmlp_infer_ws_free(ws) bind(c, name='lrmlp_infer_ws_free')
            import :: c_ptr
            type(c_ptr), value :: ws
        end subroutine

        integer(c_size_t) function lrmlp_infer_ws_size(model, max_batch) &
                bind(c, name='lrmlp_infer_ws_size')
            import :: c_size_t, c_ptr
            type(c_ptr), value :: model
            integer(c_size_t), value :: max_batch
        end function

        integer(c_int) function c_model_predict_f32(model, ws, X, n, Y, flags) &
                bind(c, name='lrmlp_model_predict_f32')
            import :: c_int, c_ptr, c_size_t, c_float
            type(c_ptr), value :: model, ws
            real(c_float), intent(in) :: X(*)
            integer(c_size_t), value :: n
            real(c_float), intent(out) :: Y(*)
            integer(c_int), value :: flags
        end function

        integer(c_int) function c_model_predict_f64(model, ws, X, n, Y, flags) &
                bind(c, name='lrmlp_model_predict_f64')
            import :: c_int, c_ptr, c_size_t, c_double
            type(c_ptr), value :: model, ws
            real(c_double), intent(in) :: X(*)
            integer(c_size_t), value :: n
            real(c_double), intent(out) :: Y(*)
            integer(c_int), value :: flags
        end function
    end interface

    ! lrmlp_predict(net, X, Y): Y = f(X) in evaluation mode. X(d, n) and
    ! Y(k, n) (one column per sample), or X(d) and Y(k) for one sample, of the
    ! network's precision: real32 for LRMLP_F32 networks, real64 for
    ! LRMLP_F64 (else LRMLP_ERR_DTYPE). Writes the network's workspace: one
    ! thread at a time per network.
    interface lrmlp_predict
        module procedure predict_f32_2d, predict_f64_2d, predict_f32_1d, predict_f64_1d
    end interface

    ! lrmlp_dataset_create(ds, X, T): a regression dataset of n = size(X, 2)
    ! samples with d = size(X, 1) features and targets T(n_targets, n).
    ! real32 or real64 (the dataset's precision). The library copies the
    ! arrays (the Fortran arrays are passed as they are, not transposed).
    interface lrmlp_dataset_create
        module procedure dataset_targets_f32, dataset_targets_f64
    end interface

    ! lrmlp_dataset_create_labels(ds, X, labels, n_classes): a classification
    ! dataset; labels(n) are class indices in [0, n_classes).
    interface lrmlp_dataset_create_labels
        module procedure dataset_labels_f32, dataset_labels_f64
    end interface

    ! lrmlp_model_predict(model, ws, X, Y [, flags]): as lrmlp_predict, on a
    ! shared read-only model (lrmlp_model_from_net, lrmlp_model_read) with a
    ! workspace (lrmlp_infer_ws_create) that one thread at a time uses; the
    ! model may be used by many threads at once, each with its own
    ! workspace. flags: 0 (default) or LRMLP_PREDICT_RAW.
    interface lrmlp_model_predict
        module procedure model_predict_f32_2d, model_predict_f64_2d, &
            model_predict_f32_1d, model_predict_f64_1d
    end interface

contains

    ! Copies a NUL-terminated C string into a Fortran string ('' for NULL).
    function from_c(p) result(s)
        type(c_ptr), intent(in) :: p
        character(:), allocatable :: s
        character(kind=c_char), pointer :: a(:)
        integer :: i, n
        if (.not. c_associated(p)) then
            s = ''
            return
        end if
        n = int(c_strlen(p))
        call c_f_pointer(p, a, [n])
        allocate (character(n) :: s)
        do i = 1, n
            s(i:i) = a(i)
        end do
    end function

    ! The library's version string, e.g. '0.1.0' (lrmlp_version_string).
    function lrmlp_version() result(s)
        character(:), allocatable :: s
        s = from_c(c_version_string())
    end function

    ! Static English description of a status code.
    function lrmlp_strerror(status) result(s)
        integer(c_int), intent(in) :: status
        character(:), allocatable :: s
        s = from_c(c_strerror(status))
    end function

    ! Message of the most recent failed library call on this thread
    ! (lrmlp_last_errmsg). Thread-local, like errno.
    function lrmlp_last_errmsg() result(s)
        character(:), allocatable :: s
        s = from_c(c_last_errmsg())
    end function

    ! Creates a network of the given widths (input, hidden..., output; at
    ! least two): dtype LRMLP_F32 (default) or LRMLP_F64, hidden and output
    ! activations (defaults tanh and identity), biases (default .false.),
    ! the generator seed (default 1). Other options keep their defaults; use
    ! lrmlp_net_options with lrmlp_net_create for the rest. On error net is
    ! c_null_ptr and lrmlp_last_errmsg() says why. Free with lrmlp_net_free.
    integer(c_int) function lrmlp_net_create_shape(net, widths, dtype, hidden, output, &
                                                   bias, seed) result(rc)
        type(c_ptr), intent(out) :: net
        integer, intent(in) :: widths(:)
        integer(c_int), intent(in), optional :: dtype, hidden, output
        logical, intent(in), optional :: bias
        integer(c_int64_t), intent(in), optional :: seed
        integer(c_size_t), allocatable, target :: w(:)
        type(lrmlp_net_options) :: opts
        net = c_null_ptr
        rc = lrmlp_net_options_init(opts, LRMLP_NET_OPTIONS_VERSION)
        if (rc /= LRMLP_OK) return
        ! widths(:) of length 0 or 1 is passed on as n_layers = 0 or a NULL
        ! pointer, which the C library rejects with its own message.
        w = int(widths, c_size_t)
        opts%n_layers = int(max(size(widths) - 1, 0), c_size_t)
        if (size(w) > 0) opts%widths = c_loc(w)
        if (present(dtype)) opts%dtype = dtype
        if (present(hidden)) opts%hidden_activation = hidden
        if (present(output)) opts%output_activation = output
        if (present(bias)) opts%bias = merge(1, 0, bias)
        if (present(seed)) opts%seed = seed
        rc = lrmlp_net_create(net, opts)
    end function

    ! Records LRMLP_ERR_SHAPE with msg as this thread's last error (as the C
    ! library does for its own failures) and returns it.
    integer(c_int) function shape_error(msg) result(rc)
        character(*), intent(in) :: msg
        rc = lrmlp_error_set(LRMLP_ERR_SHAPE, msg // c_null_char)
    end function

    ! Decimal text of an integer, for messages.
    function itoa(i) result(s)
        integer(c_int64_t), intent(in) :: i
        character(:), allocatable :: s
        character(24) :: buf
        write (buf, '(i0)') i
        s = trim(buf)
    end function

    ! Checks X(d, n) / Y(k, n) against the widths din / dout (from a network
    ! or a model); sets n. On a mismatch records the error (shape_error).
    logical function extents_ok(what, din, dout, d, k, nx, ny, n)
        character(*), intent(in) :: what
        integer(c_size_t), intent(in) :: din, dout
        integer, intent(in) :: d, k, nx, ny
        integer(c_size_t), intent(out) :: n
        integer(c_int) :: rc
        n = int(nx, c_size_t)
        extents_ok = .false.
        if (nx /= ny .or. nx < 1) then
            rc = shape_error(what // ': X has ' // itoa(int(nx, c_int64_t)) // &
                ' columns (samples), Y ' // itoa(int(ny, c_int64_t)) // &
                '; they must be equal and at least 1')
        else if (int(d, c_size_t) /= din) then
            rc = shape_error(what // ': size(X, 1) is ' // itoa(int(d, c_int64_t)) // &
                ', the input width is ' // itoa(int(din, c_int64_t)))
        else if (int(k, c_size_t) /= dout) then
            rc = shape_error(what // ': size(Y, 1) is ' // itoa(int(k, c_int64_t)) // &
                ', the output width is ' // itoa(int(dout, c_int64_t)))
        else
            extents_ok = .true.
        end if
    end function

    ! extents_ok against a network. A NULL network goes on to C, which
    ! reports it.
    logical function shapes_ok(net, d, k, nx, ny, n)
        type(c_ptr), intent(in) :: net
        integer, intent(in) :: d, k, nx, ny
        integer(c_size_t), intent(out) :: n
        n = int(nx, c_size_t)
        shapes_ok = .true.
        if (.not. c_associated(net)) return
        shapes_ok = extents_ok('lrmlp_predict', lrmlp_net_width(net, 0_c_size_t), &
            lrmlp_net_width(net, lrmlp_net_n_layers(net)), d, k, nx, ny, n)
    end function

    ! extents_ok against a model. A NULL model goes on to C.
    logical function model_shapes_ok(model, d, k, nx, ny, n)
        type(c_ptr), intent(in) :: model
        integer, intent(in) :: d, k, nx, ny
        integer(c_size_t), intent(out) :: n
        n = int(nx, c_size_t)
        model_shapes_ok = .true.
        if (.not. c_associated(model)) return
        model_shapes_ok = extents_ok('lrmlp_model_predict', lrmlp_model_input_dim(model), &
            lrmlp_model_output_dim(model), d, k, nx, ny, n)
    end function

    integer(c_int) function predict_f32_2d(net, X, Y) result(rc)
        type(c_ptr), intent(in) :: net
        real(real32), intent(in), contiguous :: X(:, :)
        real(real32), intent(out), contiguous :: Y(:, :)
        integer(c_size_t) :: n
        rc = LRMLP_ERR_SHAPE
        if (shapes_ok(net, size(X, 1), size(Y, 1), size(X, 2), size(Y, 2), n)) &
            rc = c_predict_f32(net, X, n, Y)
    end function

    integer(c_int) function predict_f64_2d(net, X, Y) result(rc)
        type(c_ptr), intent(in) :: net
        real(real64), intent(in), contiguous :: X(:, :)
        real(real64), intent(out), contiguous :: Y(:, :)
        integer(c_size_t) :: n
        rc = LRMLP_ERR_SHAPE
        if (shapes_ok(net, size(X, 1), size(Y, 1), size(X, 2), size(Y, 2), n)) &
            rc = c_predict_f64(net, X, n, Y)
    end function

    integer(c_int) function predict_f32_1d(net, x, y) result(rc)
        type(c_ptr), intent(in) :: net
        real(real32), intent(in), contiguous :: x(:)
        real(real32), intent(out), contiguous :: y(:)
        integer(c_size_t) :: n
        rc = LRMLP_ERR_SHAPE
        if (shapes_ok(net, size(x), size(y), 1, 1, n)) rc = c_predict_f32(net, x, n, y)
    end function

    integer(c_int) function predict_f64_1d(net, x, y) result(rc)
        type(c_ptr), intent(in) :: net
        real(real64), intent(in), contiguous :: x(:)
        real(real64), intent(out), contiguous :: y(:)
        integer(c_size_t) :: n
        rc = LRMLP_ERR_SHAPE
        if (shapes_ok(net, size(x), size(y), 1, 1, n)) rc = c_predict_f64(net, x, n, y)
    end function

    integer(c_int) function dataset_targets_f32(ds, X, T) result(rc)
        type(c_ptr), intent(out) :: ds
        real(real32), intent(in), contiguous :: X(:, :), T(:, :)
        ds = c_null_ptr
        rc = LRMLP_ERR_SHAPE
        if (size(X, 2) /= size(T, 2)) then
            rc = shape_error('lrmlp_dataset_create: X has ' // itoa(int(size(X, 2), c_int64_t)) &
                // ' columns (samples), T ' // itoa(int(size(T, 2), c_int64_t)))
            return
        end if
        rc = c_dataset_from_targets_f32(ds, X, int(size(X, 2), c_size_t), &
            int(size(X, 1), c_size_t), T, int(size(T, 1), c_size_t))
    end function

    integer(c_int) function dataset_targets_f64(ds, X, T) result(rc)
        type(c_ptr), intent(out) :: ds
        real(real64), intent(in), contiguous :: X(:, :), T(:, :)
        ds = c_null_ptr
        rc = LRMLP_ERR_SHAPE
        if (size(X, 2) /= size(T, 2)) then
            rc = shape_error('lrmlp_dataset_create: X has ' // itoa(int(size(X, 2), c_int64_t)) &
                // ' columns (samples), T ' // itoa(int(size(T, 2), c_int64_t)))
            return
        end if
        rc = c_dataset_from_targets_f64(ds, X, int(size(X, 2), c_size_t), &
            int(size(X, 1), c_size_t), T, int(size(T, 1), c_size_t))
    end function

    integer(c_int) function dataset_labels_f32(ds, X, labels, n_classes) result(rc)
        type(c_ptr), intent(out) :: ds
        real(real32), intent(in), contiguous :: X(:, :)
        integer(c_int32_t), intent(in), contiguous :: labels(:)
        integer, intent(in) :: n_classes
        ds = c_null_ptr
        rc = LRMLP_ERR_SHAPE
        if (size(X, 2) /= size(labels)) then
            rc = shape_error('lrmlp_dataset_create_labels: X has ' // &
                itoa(int(size(X, 2), c_int64_t)) // ' columns (samples), labels ' // &
                itoa(int(size(labels), c_int64_t)) // ' entries')
            return
        end if
        rc = c_dataset_from_labels_f32(ds, X, int(size(X, 2), c_size_t), &
            int(size(X, 1), c_size_t), labels, int(n_classes, c_size_t))
    end function

    integer(c_int) function dataset_labels_f64(ds, X, labels, n_classes) result(rc)
        type(c_ptr), intent(out) :: ds
        real(real64), intent(in), contiguous :: X(:, :)
        integer(c_int32_t), intent(in), contiguous :: labels(:)
        integer, intent(in) :: n_classes
        ds = c_null_ptr
        rc = LRMLP_ERR_SHAPE
        if (size(X, 2) /= size(labels)) then
            rc = shape_error('lrmlp_dataset_create_labels: X has ' // &
                itoa(int(size(X, 2), c_int64_t)) // ' columns (samples), labels ' // &
                itoa(int(size(labels), c_int64_t)) // ' entries')
            return
        end if
        rc = c_dataset_from_labels_f64(ds, X, int(size(X, 2), c_size_t), &
            int(size(X, 1), c_size_t), labels, int(n_classes, c_size_t))
    end function

    ! Writes net (and opt, when present) to path atomically (lrmlp_model_save).
    ! Trailing blanks of path are ignored.
    integer(c_int) function lrmlp_model_save(net, path, opt) result(rc)
        type(c_ptr), intent(in) :: net
        character(*), intent(in) :: path
        type(c_ptr), intent(in), optional :: opt
        type(c_ptr) :: o
        o = c_null_ptr
        if (present(opt)) o = opt
        rc = c_model_save(net, o, trim(path) // c_null_char)
    end function

    ! Reads a model file (lrmlp_model_load): net receives a new network; opt,
    ! when present, a new optimizer if the file holds one, else c_null_ptr.
    ! On error both are c_null_ptr and lrmlp_last_errmsg() says why.
    integer(c_int) function lrmlp_model_load(path, net, opt) result(rc)
        character(*), intent(in) :: path
        type(c_ptr), intent(out) :: net
        type(c_ptr), intent(out), optional, target :: opt
        if (present(opt)) then
            rc = c_model_load(trim(path) // c_null_char, net, c_loc(opt))
        else
            rc = c_model_load(trim(path) // c_null_char, net, c_null_ptr)
        end if
    end function

    ! Reads a model file into a shared read-only model (lrmlp_model_read).
    ! On error model is c_null_ptr and lrmlp_last_errmsg() says why. Free
    ! with lrmlp_model_free.
    integer(c_int) function lrmlp_model_read(path, model) result(rc)
        character(*), intent(in) :: path
        type(c_ptr), intent(out) :: model
        rc = c_model_read(model, trim(path) // c_null_char)
    end function

    integer(c_int) function model_predict_f32_2d(model, ws, X, Y, flags) result(rc)
        type(c_ptr), intent(in) :: model, ws
        real(real32), intent(in), contiguous :: X(:, :)
        real(real32), intent(out), contiguous :: Y(:, :)
        integer(c_int), intent(in), optional :: flags
        integer(c_size_t) :: n
        rc = LRMLP_ERR_SHAPE
        if (model_shapes_ok(model, size(X, 1), size(Y, 1), size(X, 2), size(Y, 2), n)) &
            rc = c_model_predict_f32(model, ws, X, n, Y, flags_or_0(flags))
    end function

    integer(c_int) function model_predict_f64_2d(model, ws, X, Y, flags) result(rc)
        type(c_ptr), intent(in) :: model, ws
        real(real64), intent(in), contiguous :: X(:, :)
        real(real64), intent(out), contiguous :: Y(:, :)
        integer(c_int), intent(in), optional :: flags
        integer(c_size_t) :: n
        rc = LRMLP_ERR_SHAPE
        if (model_shapes_ok(model, size(X, 1), size(Y, 1), size(X, 2), size(Y, 2), n)) &
            rc = c_model_predict_f64(model, ws, X, n, Y, flags_or_0(flags))
    end function

    integer(c_int) function model_predict_f32_1d(model, ws, x, y, flags) result(rc)
        type(c_ptr), intent(in) :: model, ws
        real(real32), intent(in), contiguous :: x(:)
        real(real32), intent(out), contiguous :: y(:)
        integer(c_int), intent(in), optional :: flags
        integer(c_size_t) :: n
        rc = LRMLP_ERR_SHAPE
        if (model_shapes_ok(model, size(x), size(y), 1, 1, n)) &
            rc = c_model_predict_f32(model, ws, x, n, y, flags_or_0(flags))
    end function

    integer(c_int) function model_predict_f64_1d(model, ws, x, y, flags) result(rc)
        type(c_ptr), intent(in) :: model, ws
        real(real64), intent(in), contiguous :: x(:)
        real(real64), intent(out), contiguous :: y(:)
        integer(c_int), intent(in), optional :: flags
        integer(c_size_t) :: n
        rc = LRMLP_ERR_SHAPE
        if (model_shapes_ok(model, size(x), size(y), 1, 1, n)) &
            rc = c_model_predict_f64(model, ws, x, n, y, flags_or_0(flags))
    end function

    integer(c_int) function flags_or_0(flags)
        integer(c_int), intent(in), optional :: flags
        flags_or_0 = 0
        if (present(flags)) flags_or_0 = flags
    end function

    ! Width of a network's input (i = 0) or output (i = n_layers); 0 for a
    ! NULL network, which C then reports.
    integer function net_width(net, output)
        type(c_ptr), intent(in) :: net
        logical, intent(in) :: output
        net_width = 0
        if (.not. c_associated(net)) return
        if (output) then
            net_width = int(lrmlp_net_width(net, lrmlp_net_n_layers(net)))
        else
            net_width = int(lrmlp_net_width(net, 0_c_size_t))
        end if
    end function

    ! x'_j = (x_j - mean(j)) / std(j) before the first layer
    ! (lrmlp_net_set_input_standardize); mean and std have the input width.
    integer(c_int) function lrmlp_net_set_input_standardize(net, mean, std) result(rc)
        type(c_ptr), intent(in) :: net
        real(real64), intent(in), contiguous :: mean(:), std(:)
        integer :: d
        d = net_width(net, .false.)
        if (c_associated(net) .and. (size(mean) /= d .or. size(std) /= d)) then
            rc = shape_error('lrmlp_net_set_input_standardize: mean and std need ' // &
                itoa(int(d, c_int64_t)) // ' values, got ' // &
                itoa(int(size(mean), c_int64_t)) // ' and ' // itoa(int(size(std), c_int64_t)))
            return
        end if
        rc = c_set_input_standardize(net, mean, std)
    end function

    ! x' = M x + c before the first layer (lrmlp_net_set_input_affine). As for
    ! weights, the C row-major d x d matrix M is the Fortran array Mt(d, d)
    ! with Mt(j, i) = M_ij, i.e. pass transpose(M) of a Fortran M(i, j).
    ! c: d values (absent: zero).
    integer(c_int) function lrmlp_net_set_input_affine(net, Mt, c) result(rc)
        type(c_ptr), intent(in) :: net
        real(real64), intent(in), contiguous :: Mt(:, :)
        real(real64), intent(in), contiguous, target, optional :: c(:)
        integer :: d
        type(c_ptr) :: pc
        d = net_width(net, .false.)
        pc = c_null_ptr
        if (present(c)) pc = c_loc(c)
        if (c_associated(net)) then
            if (size(Mt, 1) /= d .or. size(Mt, 2) /= d) then
                rc = shape_error('lrmlp_net_set_input_affine: M must be ' // &
                    itoa(int(d, c_int64_t)) // ' x ' // itoa(int(d, c_int64_t)))
                return
            end if
            if (present(c)) then
                if (size(c) /= d) then
                    rc = shape_error('lrmlp_net_set_input_affine: c needs ' // &
                        itoa(int(d, c_int64_t)) // ' values, got ' // &
                        itoa(int(size(c), c_int64_t)))
                    return
                end if
            end if
        end if
        rc = c_set_input_affine(net, Mt, pc)
    end function

    ! y_j = scale(j) * y'_j + shift(j) after the last layer
    ! (lrmlp_net_set_output_affine); shift absent: zero. For targets
    ! standardized as (t - mean) / std pass scale = std, shift = mean.
    integer(c_int) function lrmlp_net_set_output_affine(net, scale, shift) result(rc)
        type(c_ptr), intent(in) :: net
        real(real64), intent(in), contiguous :: scale(:)
        real(real64), intent(in), contiguous, target, optional :: shift(:)
        integer :: k
        type(c_ptr) :: ps
        k = net_width(net, .true.)
        ps = c_null_ptr
        if (present(shift)) ps = c_loc(shift)
        if (c_associated(net)) then
            if (size(scale) /= k) then
                rc = shape_error('lrmlp_net_set_output_affine: scale needs ' // &
                    itoa(int(k, c_int64_t)) // ' values, got ' // &
                    itoa(int(size(scale), c_int64_t)))
                return
            end if
            if (present(shift)) then
                if (size(shift) /= k) then
                    rc = shape_error('lrmlp_net_set_output_affine: shift needs ' // &
                        itoa(int(k, c_int64_t)) // ' values, got ' // &
                        itoa(int(size(shift), c_int64_t)))
                    return
                end if
            end if
        end if
        rc = c_set_output_affine(net, scale, ps)
    end function

end module lrmlp
