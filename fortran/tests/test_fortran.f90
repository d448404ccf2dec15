! Tests of the Fortran module `lrmlp` against the C library: struct layout,
! status codes and messages, a closed-form prediction (which also pins the
! X(d, n) / W(in, out) layout rules), a training run compared with the same
! run made through the C API (ref.c), model files and classification.
! Exits non-zero on the first failed group.
program test_fortran
    use, intrinsic :: iso_c_binding
    use, intrinsic :: iso_fortran_env, only: real32, real64, error_unit
    use lrmlp
    implicit none

    interface
        integer(c_size_t) function ref_sizeof(which) bind(c)
            import :: c_size_t, c_int
            integer(c_int), value :: which
        end function
        integer(c_int) function ref_constants(v) bind(c)
            import :: c_int
            integer(c_int), intent(out) :: v(*)
        end function
        subroutine ref_read_net_options(o, v) bind(c)
            import :: lrmlp_net_options, c_double
            type(lrmlp_net_options), intent(in) :: o
            real(c_double), intent(out) :: v(*)
        end subroutine
        subroutine ref_read_optim_options(o, v) bind(c)
            import :: lrmlp_optim_options, c_double
            type(lrmlp_optim_options), intent(in) :: o
            real(c_double), intent(out) :: v(*)
        end subroutine
        subroutine ref_read_train_options(o, v) bind(c)
            import :: lrmlp_train_options, c_double
            type(lrmlp_train_options), intent(in) :: o
            real(c_double), intent(out) :: v(*)
        end subroutine
        subroutine ref_fill_results(st, ev) bind(c)
            import :: lrmlp_epoch_stats, lrmlp_eval_result
            type(lrmlp_epoch_stats), intent(out) :: st
            type(lrmlp_eval_result), intent(out) :: ev
        end subroutine
        integer(c_int) function ref_train(X, T, n, epochs, Y) bind(c)
            import :: c_int, c_size_t, c_double
            real(c_double), intent(in) :: X(*), T(*)
            integer(c_size_t), value :: n
            integer(c_int), value :: epochs
            real(c_double), intent(out) :: Y(*)
        end function
        integer(c_int) function ref_net_predict_f64(net, X, n, Y, raw) bind(c)
            import :: c_int, c_size_t, c_double, c_ptr
            type(c_ptr), value :: net
            real(c_double), intent(in) :: X(*)
            integer(c_size_t), value :: n
            real(c_double), intent(out) :: Y(*)
            integer(c_int), value :: raw
        end function
        integer(c_int) function ref_net_predict_f32(net, X, n, Y, raw) bind(c)
            import :: c_int, c_size_t, c_float, c_ptr
            type(c_ptr), value :: net
            real(c_float), intent(in) :: X(*)
            integer(c_size_t), value :: n
            real(c_float), intent(out) :: Y(*)
            integer(c_int), value :: raw
        end function
    end interface

    integer :: failures = 0

    call test_version()
    call test_constants()
    call test_layout()
    call test_fields()
    call test_errors()
    call test_closed_form()
    call test_train_vs_c()
    call test_classification()
    call test_shared_model_f64()
    call test_shared_model_f32()
    call test_shape_errors()
    call test_input_affine()
    if (failures > 0) then
        write (error_unit, '(i0, a)') failures, ' check(s) failed'
        stop 1
    end if
    print '(a)', 'all Fortran checks passed'

contains

    subroutine check(ok, what)
        logical, intent(in) :: ok
        character(*), intent(in) :: what
        if (.not. ok) then
            failures = failures + 1
            write (error_unit, '(a, a)') 'FAILED: ', what
        end if
    end subroutine

    subroutine ok(rc, what)
        integer(c_int), intent(in) :: rc
        character(*), intent(in) :: what
        call check(rc == LRMLP_OK, what // ': ' // lrmlp_strerror(rc))
    end subroutine

    subroutine test_version()
        character(32) :: expect
        integer :: v
        v = lrmlp_version_number()
        write (expect, '(i0, ".", i0, ".", i0)') v / 10000, mod(v / 100, 100), mod(v, 100)
        call check(lrmlp_version() == trim(expect), 'version string ' // lrmlp_version() // &
            ' matches version number ' // trim(expect))
    end subroutine

    ! The module's named constants have the C headers' values.
    subroutine test_constants()
        integer(c_int), parameter :: f(*) = [ &
            LRMLP_OK, LRMLP_ERR_NOMEM, LRMLP_ERR_INVALID, LRMLP_ERR_SHAPE, LRMLP_ERR_DTYPE, &
            LRMLP_ERR_NONFINITE, LRMLP_ERR_DIVERGED, LRMLP_ERR_IO, LRMLP_ERR_FORMAT, &
            LRMLP_ERR_CHECKSUM, LRMLP_ERR_VERSION, LRMLP_ERR_LINALG, LRMLP_ERR_STOPPED, &
            LRMLP_ERR_UNSUPPORTED, LRMLP_ERR_STATE, &
            LRMLP_F32, LRMLP_F64, &
            LRMLP_ACT_IDENTITY, LRMLP_ACT_TANH, LRMLP_ACT_SIGMOID, LRMLP_ACT_SOFTPLUS, &
            LRMLP_ACT_ELU, LRMLP_ACT_GELU, LRMLP_ACT_GELU_TANH, LRMLP_ACT_SILU, LRMLP_ACT_RELU, &
            LRMLP_ACT_LEAKY_RELU, LRMLP_ACT_RRELU, &
            LRMLP_LOSS_SSE, LRMLP_LOSS_MSE, LRMLP_LOSS_CROSS_ENTROPY, &
            LRMLP_INIT_TORCH_DEFAULT, LRMLP_INIT_ORTHOGONAL, LRMLP_INIT_GAUSSIAN, &
            LRMLP_INIT_XAVIER_UNIFORM, LRMLP_INIT_XAVIER_NORMAL, LRMLP_INIT_HE_UNIFORM, &
            LRMLP_INIT_HE_NORMAL, LRMLP_INIT_ZERO, &
            LRMLP_OPTIM_GD, LRMLP_OPTIM_SGD, LRMLP_OPTIM_ADAM, LRMLP_OPTIM_ADAMW, &
            LRMLP_OPTIM_MUON, &
            LRMLP_SCHEDULE_CONSTANT, LRMLP_SCHEDULE_COSINE, LRMLP_SCHEDULE_STEP, &
            LRMLP_NET_OPTIONS_VERSION, LRMLP_OPTIM_OPTIONS_VERSION, LRMLP_TRAIN_OPTIONS_VERSION]
        integer(c_int) :: c(size(f))
        integer :: n
        n = ref_constants(c)
        call check(n == size(f), 'as many constants as the C list')
        call check(all(c == f), 'named constants equal the C values')
    end subroutine

    ! The BIND(C) types have the C structs' sizes, and the C initializers
    ! fill every field where the Fortran type says it is (a shifted field
    ! would show as a wrong default).
    subroutine test_layout()
        type(lrmlp_net_options) :: no
        type(lrmlp_optim_options) :: oo
        type(lrmlp_train_options) :: to
        type(lrmlp_epoch_stats) :: es
        type(lrmlp_eval_result) :: ev
        call check(c_sizeof(no) == ref_sizeof(0), 'sizeof lrmlp_net_options')
        call check(c_sizeof(oo) == ref_sizeof(1), 'sizeof lrmlp_optim_options')
        call check(c_sizeof(to) == ref_sizeof(2), 'sizeof lrmlp_train_options')
        call check(c_sizeof(es) == ref_sizeof(3), 'sizeof lrmlp_epoch_stats')
        call check(c_sizeof(ev) == ref_sizeof(4), 'sizeof lrmlp_eval_result')

        call check(lrmlp_net_options_init(no, LRMLP_NET_OPTIONS_VERSION) == LRMLP_OK, &
            'net options init')
        call check(no%version == 1 .and. no%dtype == LRMLP_F32 .and. no%n_layers == 0 .and. &
            .not. c_associated(no%widths) .and. no%hidden_activation == LRMLP_ACT_TANH .and. &
            no%output_activation == LRMLP_ACT_IDENTITY .and. &
            .not. c_associated(no%activations) .and. no%bias == 0 .and. no%seed == 1 .and. &
            no%init == LRMLP_INIT_TORCH_DEFAULT .and. no%init_scale == 1.0_c_double, &
            'net options defaults')

        call check(lrmlp_optim_options_init(oo, LRMLP_OPTIM_OPTIONS_VERSION) == LRMLP_OK, &
            'optim options init')
        call check(oo%version == 1 .and. oo%kind == LRMLP_OPTIM_SGD .and. &
            oo%lr == 0.01_c_double .and. oo%momentum == 0 .and. oo%nesterov == 0 .and. &
            oo%beta1 == 0.9_c_double .and. oo%beta2 == 0.999_c_double .and. &
            oo%eps == 1e-8_c_double .and. oo%weight_decay == 0 .and. oo%clip_norm == 0 .and. &
            oo%ns_steps == 5 .and. oo%schedule == LRMLP_SCHEDULE_CONSTANT .and. &
            oo%total_steps == 0 .and. oo%min_lr == 0 .and. oo%step_size == 0 .and. &
            oo%gamma == 0.1_c_double .and. oo%warmup_steps == 0, 'optim options defaults')

        call check(lrmlp_train_options_init(to, LRMLP_TRAIN_OPTIONS_VERSION) == LRMLP_OK, &
            'train options init')
        call check(to%version == 3 .and. to%loss == LRMLP_LOSS_CROSS_ENTROPY .and. &
            to%batch_size == 128 .and. to%shuffle == 1 .and. &
            .not. c_associated(to%on_step) .and. .not. c_associated(to%on_step_user) .and. &
            .not. c_associated(to%allreduce) .and. .not. c_associated(to%allreduce_user) .and. &
            .not. c_associated(to%order) .and. to%shard_count == 0 .and. to%shard_index == 0 .and. &
            .not. c_associated(to%grad_ready) .and. .not. c_associated(to%grad_ready_user), &
            'train options defaults')

        call check(lrmlp_net_options_init(no, 99) == LRMLP_ERR_VERSION, 'unknown version')
    end subroutine

    ! Every field set from Fortran to a distinct value is the value C reads
    ! from the field of that name, and the other way round: a swapped or
    ! shifted field shows even where two fields share a default.
    subroutine test_fields()
        type(lrmlp_net_options) :: no
        type(lrmlp_optim_options) :: oo
        type(lrmlp_train_options) :: to
        type(lrmlp_epoch_stats) :: st
        type(lrmlp_eval_result) :: ev
        integer(c_size_t), target :: widths(2)
        real(c_double) :: v(17)
        no%version = 11
        no%dtype = 12
        no%n_layers = 13
        no%widths = c_loc(widths)
        no%hidden_activation = 14
        no%output_activation = 15
        no%activations = c_null_ptr
        no%bias = 16
        no%seed = 17
        no%init = 18
        no%init_scale = 19.5_c_double
        call ref_read_net_options(no, v)
        call check(all(v(1:11) == [11d0, 12d0, 13d0, 1d0, 14d0, 15d0, 0d0, 16d0, 17d0, 18d0, &
            19.5d0]), 'lrmlp_net_options fields as C reads them')

        oo%version = 21
        oo%kind = 22
        oo%lr = 23.5_c_double
        oo%momentum = 24.5_c_double
        oo%nesterov = 25
        oo%beta1 = 26.5_c_double
        oo%beta2 = 27.5_c_double
        oo%eps = 28.5_c_double
        oo%weight_decay = 29.5_c_double
        oo%clip_norm = 30.5_c_double
        oo%ns_steps = 31
        oo%schedule = 32
        oo%total_steps = 33
        oo%min_lr = 34.5_c_double
        oo%step_size = 35
        oo%gamma = 36.5_c_double
        oo%warmup_steps = 37
        call ref_read_optim_options(oo, v)
        call check(all(v == [21d0, 22d0, 23.5d0, 24.5d0, 25d0, 26.5d0, 27.5d0, 28.5d0, 29.5d0, &
            30.5d0, 31d0, 32d0, 33d0, 34.5d0, 35d0, 36.5d0, 37d0]), &
            'lrmlp_optim_options fields as C reads them')

        to%version = 41
        to%loss = 42
        to%batch_size = 43
        to%shuffle = 44
        to%on_step = c_funloc(ref_fill_results)
        to%on_step_user = c_null_ptr
        to%allreduce = c_null_funptr
        to%allreduce_user = c_loc(widths)
        to%order = c_loc(widths)
        to%shard_count = 45
        to%shard_index = 46
        to%grad_ready = c_null_funptr
        to%grad_ready_user = c_loc(widths)
        call ref_read_train_options(to, v)
        call check(all(v(1:13) == [41d0, 42d0, 43d0, 44d0, 1d0, 0d0, 0d0, 1d0, 1d0, 45d0, 46d0, &
            0d0, 1d0]), &
            'lrmlp_train_options fields as C reads them')

        call ref_fill_results(st, ev)
        call check(st%loss == 1.5d0 .and. st%accuracy == 2.5d0 .and. st%samples == 3 .and. &
            st%steps == 4 .and. st%seconds == 5.5d0, 'lrmlp_epoch_stats as C writes it')
        call check(ev%loss == 6.5d0 .and. ev%accuracy == 7.5d0 .and. ev%samples == 8, &
            'lrmlp_eval_result as C writes it')
    end subroutine

    subroutine test_errors()
        type(c_ptr) :: net
        real(real64) :: x(3), y(1)
        real(real32) :: x32(2), y32(1)
        integer(c_int) :: rc
        rc = lrmlp_net_create_shape(net, [4])
        call check(rc == LRMLP_ERR_INVALID, 'one width is rejected')
        call check(.not. c_associated(net), 'failed create leaves net NULL')
        call check(len(lrmlp_last_errmsg()) > 0, 'failed create leaves a message')
        call check(lrmlp_last_status() == LRMLP_ERR_INVALID, 'lrmlp_last_status')
        call lrmlp_error_clear()
        call check(lrmlp_last_status() == LRMLP_OK, 'lrmlp_error_clear resets the status')
        call check(lrmlp_last_errmsg() == '', 'lrmlp_error_clear resets the message')
        call check(len(lrmlp_strerror(LRMLP_ERR_SHAPE)) > 0, 'strerror')
        call check(lrmlp_strerror(LRMLP_ERR_SHAPE) /= lrmlp_strerror(LRMLP_ERR_IO), 'strerror')

        rc = lrmlp_model_load('no/such/dir/model.lrmlp', net)
        call check(rc == LRMLP_ERR_IO .and. .not. c_associated(net), 'missing model file')
        call check(index(lrmlp_last_errmsg(), 'no/such/dir/model.lrmlp') > 0, &
            'the message names the file: ' // lrmlp_last_errmsg())

        ! Extents checked on the Fortran side; precision checked by C.
        call check(lrmlp_net_create_shape(net, [2, 1], dtype=LRMLP_F64) == LRMLP_OK, 'create')
        x = 0
        call check(lrmlp_predict(net, x, y) == LRMLP_ERR_SHAPE, 'wrong input extent')
        call check(lrmlp_predict(net, x(1:2), y) == LRMLP_OK, 'right input extent')
        x32 = 0
        call check(lrmlp_predict(net, x32, y32) == LRMLP_ERR_DTYPE, 'real32 arrays on a float64 network')
        call lrmlp_net_free(net)
        call lrmlp_net_free(c_null_ptr)
    end subroutine

    ! A 3-4-2 network with tanh hidden units and biases, given weights, on 5
    ! samples: predict must equal W1' tanh(W0' x + b0) + b1 written out here.
    subroutine test_closed_form()
        real(real64) :: W0(3, 4), b0(4), W1(4, 2), b1(2), X(3, 5), Y(2, 5), h(4), ref(2)
        real(real32) :: Y32(2, 5)
        type(c_ptr) :: net, net32
        integer :: i, j, s
        real(real64) :: err, err32
        do j = 1, 4
            do i = 1, 3
                W0(i, j) = 0.3_real64 * sin(real(i + 3 * j, real64))
            end do
            b0(j) = 0.1_real64 * j - 0.2_real64
            W1(j, :) = [cos(real(j, real64)), 0.5_real64 - 0.25_real64 * j]
        end do
        b1 = [0.05_real64, -0.3_real64]
        do s = 1, 5
            X(:, s) = [real(s, real64) / 5, -0.4_real64 * s + 1, 0.7_real64 * (-1)**s]
        end do
        call check(lrmlp_net_create_shape(net, [3, 4, 2], dtype=LRMLP_F64, &
            hidden=LRMLP_ACT_TANH, bias=.true.) == LRMLP_OK, 'create 3-4-2')
        call ok(lrmlp_net_set_weights_f64(net, 0_c_size_t, W0), 'set W0')
        call ok(lrmlp_net_set_bias_f64(net, 0_c_size_t, b0), 'set b0')
        call ok(lrmlp_net_set_weights_f64(net, 1_c_size_t, W1), 'set W1')
        call ok(lrmlp_net_set_bias_f64(net, 1_c_size_t, b1), 'set b1')
        call check(lrmlp_predict(net, X, Y) == LRMLP_OK, 'predict f64')
        err = 0
        do s = 1, 5
            h = tanh(matmul(X(:, s), W0) + b0)
            ref = matmul(h, W1) + b1
            err = max(err, maxval(abs(Y(:, s) - ref)))
        end do
        call check(err < 1e-14_real64, 'f64 predict equals the closed form')

        ! The same network in float32.
        call check(lrmlp_net_create_shape(net32, [3, 4, 2], dtype=LRMLP_F32, &
            bias=.true.) == LRMLP_OK, 'create f32')
        call ok(lrmlp_net_set_weights_f32(net32, 0_c_size_t, real(W0, real32)), 'set W0 f32')
        call ok(lrmlp_net_set_bias_f32(net32, 0_c_size_t, real(b0, real32)), 'set b0 f32')
        call ok(lrmlp_net_set_weights_f32(net32, 1_c_size_t, real(W1, real32)), 'set W1 f32')
        call ok(lrmlp_net_set_bias_f32(net32, 1_c_size_t, real(b1, real32)), 'set b1 f32')
        call check(lrmlp_predict(net32, real(X, real32), Y32) == LRMLP_OK, 'predict f32')
        err32 = maxval(abs(real(Y32, real64) - Y))
        call check(err32 < 1e-5_real64, 'f32 predict within 1e-5 of f64')
        call lrmlp_net_free(net32)
        call lrmlp_net_free(net)
    end subroutine

    ! Training from Fortran arrays gives bit for bit what the same run through
    ! the C API gives (same seed, same process, same BLAS threads); saving and
    ! loading keeps the predictions and the optimizer.
    subroutine test_train_vs_c()
        integer, parameter :: n = 64, epochs = 30
        real(real64) :: X(2, n), T(1, n), Y(1, n), Yc(1, n), Y2(1, n)
        type(c_ptr) :: net, opt, ds, net2, opt2
        type(lrmlp_optim_options) :: oo
        type(lrmlp_train_options) :: to
        type(lrmlp_epoch_stats) :: st
        type(lrmlp_eval_result) :: ev0, ev
        integer :: s, e, u
        integer(c_int) :: rc
        do s = 1, n
            X(:, s) = [cos(0.37_real64 * s), sin(0.91_real64 * s)]
            T(1, s) = X(1, s) * X(2, s) + 0.5_real64 * X(1, s)
        end do
        call check(ref_train(X, T, int(n, c_size_t), epochs, Yc) == 0, 'C reference run')

        call check(lrmlp_net_create_shape(net, [2, 8, 1], dtype=LRMLP_F64, bias=.true., &
            seed=3_c_int64_t) == LRMLP_OK, 'create 2-8-1')
        rc = lrmlp_optim_options_init(oo, LRMLP_OPTIM_OPTIONS_VERSION)
        oo%kind = LRMLP_OPTIM_ADAM
        oo%lr = 1e-2_c_double
        call check(lrmlp_optim_create(opt, net, oo) == LRMLP_OK, 'optim create')
        call check(lrmlp_dataset_create(ds, X, T) == LRMLP_OK, 'dataset from arrays')
        call check(lrmlp_dataset_size(ds) == n, 'dataset size')
        call check(lrmlp_dataset_dim(ds) == 2, 'dataset dim')
        rc = lrmlp_train_options_init(to, LRMLP_TRAIN_OPTIONS_VERSION)
        to%loss = LRMLP_LOSS_MSE
        to%batch_size = 16
        call check(lrmlp_evaluate(net, ds, LRMLP_LOSS_MSE, 0_c_size_t, ev0) == 0, 'evaluate')
        do e = 1, epochs
            rc = lrmlp_train_epoch(net, opt, ds, to, st)
            if (rc /= LRMLP_OK) exit
        end do
        call check(rc == LRMLP_OK, 'train epochs')
        call check(st%steps == 4 .and. st%samples == n, 'epoch stats')
        call check(lrmlp_optim_steps(opt) == 4 * epochs, 'step count')
        call check(lrmlp_net_epochs(net) == epochs, 'epoch count')
        call ok(lrmlp_evaluate(net, ds, LRMLP_LOSS_MSE, 0_c_size_t, ev), 'evaluate after')
        call check(ev%loss < 0.5_real64 * ev0%loss, 'training lowers the loss')
        call ok(lrmlp_predict(net, X, Y), 'predict')
        call check(all(Y == Yc), 'Fortran run equals the C run bit for bit')

        call check(lrmlp_model_save(net, 'test_fortran_model.lrmlp', opt) == LRMLP_OK, 'save')
        call check(lrmlp_model_load('test_fortran_model.lrmlp', net2, opt2) == LRMLP_OK, 'load')
        call check(c_associated(net2) .and. c_associated(opt2), 'load returns both handles')
        call ok(lrmlp_predict(net2, X, Y2), 'predict with the loaded network')
        call check(all(Y2 == Y), 'loaded network predicts the same')
        call check(lrmlp_optim_steps(opt2) == 4 * epochs, 'loaded optimizer state')
        call lrmlp_optim_free(opt2)
        call lrmlp_net_free(net2)
        call check(lrmlp_model_load('test_fortran_model.lrmlp', net2) == LRMLP_OK, &
            'load without the optimizer')
        call lrmlp_net_free(net2)
        open (newunit=u, file='test_fortran_model.lrmlp', status='old')
        close (u, status='delete')
        call lrmlp_dataset_free(ds)
        call lrmlp_optim_free(opt)
        call lrmlp_net_free(net)
    end subroutine

    ! Two linearly separable classes in float32, from integer labels.
    subroutine test_classification()
        integer, parameter :: n = 40
        real(real32) :: X(2, n)
        integer(c_int32_t) :: labels(n)
        type(c_ptr) :: net, opt, ds, bad
        type(lrmlp_optim_options) :: oo
        type(lrmlp_train_options) :: to
        type(lrmlp_epoch_stats) :: st
        type(lrmlp_eval_result) :: ev
        integer :: s, e
        integer(c_int) :: rc
        do s = 1, n
            labels(s) = int(mod(s, 2), c_int32_t)
            X(:, s) = [real(2 * labels(s) - 1, real32) + 0.3_real32 * sin(real(s, real32)), &
                       0.5_real32 * cos(real(3 * s, real32))]
        end do
        call check(lrmlp_net_create_shape(net, [2, 6, 2], bias=.true.) == LRMLP_OK, 'create')
        rc = lrmlp_optim_options_init(oo, LRMLP_OPTIM_OPTIONS_VERSION)
        oo%lr = 0.1_c_double
        call check(lrmlp_optim_create(opt, net, oo) == LRMLP_OK, 'optim')
        call check(lrmlp_dataset_create_labels(bad, X, labels(1:n - 1), 2) == LRMLP_ERR_SHAPE &
            .and. .not. c_associated(bad), 'labels of the wrong length')
        call check(lrmlp_dataset_create_labels(ds, X, labels, 2) == LRMLP_OK, 'labels dataset')
        rc = lrmlp_train_options_init(to, LRMLP_TRAIN_OPTIONS_VERSION)
        to%batch_size = 10
        do e = 1, 50
            rc = lrmlp_train_epoch(net, opt, ds, to, st)
            if (rc /= LRMLP_OK) exit
        end do
        call check(rc == LRMLP_OK, 'train')
        call ok(lrmlp_evaluate(net, ds, LRMLP_LOSS_CROSS_ENTROPY, 0_c_size_t, ev), 'eval')
        call check(ev%samples == n, 'evaluated samples')
        call check(ev%accuracy == 1.0_c_double, 'separable classes are all classified right')
        call lrmlp_dataset_free(ds)
        call lrmlp_optim_free(opt)
        call lrmlp_net_free(net)
    end subroutine

    ! The shared model (lrmlp_model_from_net, lrmlp_model_read) with a
    ! workspace, from Fortran arrays, gives bit for bit what
    ! lrmlp_net_predict_f64 (and _raw_) gives through the C API on the same
    ! network, with input and output transforms set from Fortran; batch and
    ! one sample at a time.
    subroutine test_shared_model_f64()
        integer, parameter :: n = 40
        real(real64) :: X(3, n), Y(2, n), Yc(2, n), Yr(2, n), Yrc(2, n), y1(2), y1c(2)
        type(c_ptr) :: net, model, model2, ws
        integer :: s, u
        logical :: same1
        do s = 1, n
            X(:, s) = [2 + sin(0.3_real64 * s), -1 + 3 * cos(0.7_real64 * s), 0.1_real64 * s]
        end do
        call check(lrmlp_net_create_shape(net, [3, 16, 2], dtype=LRMLP_F64, bias=.true., &
            seed=5_c_int64_t) == LRMLP_OK, 'create 3-16-2')
        call ok(lrmlp_net_set_input_standardize(net, [2d0, -1d0, 2d0], [0.7d0, 2d0, 1.2d0]), &
            'input standardize')
        call ok(lrmlp_net_set_output_affine(net, [3d0, 0.5d0], [1d0, -2d0]), 'output affine')
        call check(lrmlp_net_preprocessing(net) == ior(LRMLP_PREP_INPUT_DIAGONAL, &
            LRMLP_PREP_OUTPUT), 'lrmlp_net_preprocessing')
        call ok(ref_net_predict_f64(net, X, int(n, c_size_t), Yc, 0), 'C net predict')
        call ok(ref_net_predict_f64(net, X, int(n, c_size_t), Yrc, 1), 'C net predict raw')
        call check(any(Yc /= Yrc), 'the transforms change the outputs')

        call ok(lrmlp_model_from_net(model, net), 'model from net')
        call check(lrmlp_model_dtype(model) == LRMLP_F64, 'model dtype')
        call check(lrmlp_model_input_dim(model) == 3, 'model input width')
        call check(lrmlp_model_output_dim(model) == 2, 'model output width')
        call check(lrmlp_model_memory(model) > 0, 'model memory')
        call check(lrmlp_infer_ws_size(model, 64_c_size_t) > 0, 'workspace size')
        call ok(lrmlp_infer_ws_create(ws, model, 64_c_size_t), 'workspace')
        call ok(lrmlp_model_predict(model, ws, X, Y), 'model predict')
        call check(all(Y == Yc), 'shared model equals lrmlp_net_predict_f64 bit for bit')
        call ok(lrmlp_model_predict(model, ws, X, Yr, LRMLP_PREDICT_RAW), 'model predict raw')
        call check(all(Yr == Yrc), 'raw shared model equals lrmlp_net_predict_raw_f64')
        same1 = .true.
        do s = 1, n
            call ok(lrmlp_model_predict(model, ws, X(:, s), y1), 'one sample')
            call ok(ref_net_predict_f64(net, X(:, s), 1_c_size_t, y1c, 0), 'C one sample')
            same1 = same1 .and. all(y1 == y1c)
        end do
        call check(same1, 'one sample at a time: bit for bit')

        ! The same from a model file.
        call ok(lrmlp_model_save(net, 'test_fortran_shared.lrmlp'), 'save')
        call ok(lrmlp_model_read('test_fortran_shared.lrmlp  ', model2), 'model read')
        Y = 0
        call check(lrmlp_model_predict(model2, ws, X, Y) == LRMLP_ERR_INVALID, &
            'a workspace of another model is refused')
        call lrmlp_error_clear()
        call lrmlp_infer_ws_free(ws)
        call ok(lrmlp_infer_ws_create(ws, model2, 64_c_size_t), 'workspace 2')
        call ok(lrmlp_model_predict(model2, ws, X, Y), 'predict with the read model')
        call check(all(Y == Yc), 'model read from a file equals lrmlp_net_predict_f64')
        open (newunit=u, file='test_fortran_shared.lrmlp', status='old')
        close (u, status='delete')
        call check(lrmlp_model_read('no/such/dir/m.lrmlp', model2) == LRMLP_ERR_IO, &
            'missing model file')
        call check(.not. c_associated(model2), 'failed read leaves model NULL')

        call lrmlp_net_clear_preprocessing(net)
        call check(lrmlp_net_preprocessing(net) == 0, 'clear preprocessing')
        call lrmlp_infer_ws_free(ws)
        call lrmlp_model_free(model)
        call lrmlp_model_free(model2)
        call lrmlp_model_free(c_null_ptr)
        call lrmlp_infer_ws_free(c_null_ptr)
        call lrmlp_net_free(net)
    end subroutine

    subroutine test_shared_model_f32()
        integer, parameter :: n = 24
        real(real32) :: X(4, n), Y(3, n), Yc(3, n)
        type(c_ptr) :: net, model, ws
        integer :: s
        do s = 1, n
            X(:, s) = [sin(real(s, real32)), cos(real(2 * s, real32)), 0.05_real32 * s, 1.0_real32]
        end do
        call check(lrmlp_net_create_shape(net, [4, 8, 8, 3], bias=.true., &
            seed=9_c_int64_t) == LRMLP_OK, 'create 4-8-8-3 f32')
        call ok(lrmlp_net_set_output_affine(net, [2d0, 1d0, 0.5d0]), 'output affine f32')
        call ok(ref_net_predict_f32(net, X, int(n, c_size_t), Yc, 0), 'C net predict f32')
        call ok(lrmlp_model_from_net(model, net), 'model from net f32')
        call ok(lrmlp_infer_ws_create(ws, model, int(n, c_size_t)), 'workspace f32')
        call ok(lrmlp_model_predict(model, ws, X, Y), 'model predict f32')
        call check(all(Y == Yc), 'f32 shared model equals lrmlp_net_predict_f32 bit for bit')
        call lrmlp_infer_ws_free(ws)
        call lrmlp_model_free(model)
        call lrmlp_net_free(net)
    end subroutine

    ! A shape error found by a wrapper before any C call is recorded like
    ! any other failure: status and a message.
    subroutine test_shape_errors()
        type(c_ptr) :: net, model, ws, ds
        real(real64) :: x(3), y(2), X2(2, 4), Y2(2, 3), T(1, 3)
        integer(c_int) :: rc
        call check(lrmlp_net_create_shape(net, [2, 4, 2], dtype=LRMLP_F64) == LRMLP_OK, 'create')
        call ok(lrmlp_model_from_net(model, net), 'model')
        call ok(lrmlp_infer_ws_create(ws, model, 4_c_size_t), 'workspace')
        x = 0
        X2 = 0

        call lrmlp_error_clear()
        rc = lrmlp_model_predict(model, ws, x, y)
        call check(rc == LRMLP_ERR_SHAPE, 'model predict: wrong input extent')
        call check(lrmlp_last_status() == LRMLP_ERR_SHAPE, 'model predict shape error sets the status')
        call check(index(lrmlp_last_errmsg(), 'size(X, 1) is 3') > 0, &
            'model predict shape error message: ' // lrmlp_last_errmsg())

        call lrmlp_error_clear()
        call check(lrmlp_model_predict(model, ws, X2, Y2) == LRMLP_ERR_SHAPE, &
            'model predict: sample counts differ')
        call check(lrmlp_last_status() == LRMLP_ERR_SHAPE, 'sample count status')
        call check(index(lrmlp_last_errmsg(), 'columns') > 0, &
            'sample count message: ' // lrmlp_last_errmsg())

        call lrmlp_error_clear()
        call check(lrmlp_predict(net, x, y) == LRMLP_ERR_SHAPE, 'net predict: wrong input extent')
        call check(lrmlp_last_status() == LRMLP_ERR_SHAPE, 'net predict shape error status')
        call check(index(lrmlp_last_errmsg(), 'lrmlp_predict') > 0, &
            'net predict message: ' // lrmlp_last_errmsg())

        call lrmlp_error_clear()
        T = 0
        rc = lrmlp_dataset_create(ds, X2, T)
        call check(rc == LRMLP_ERR_SHAPE .and. .not. c_associated(ds), &
            'dataset: sample counts differ')
        call check(lrmlp_last_status() == LRMLP_ERR_SHAPE, 'dataset shape error sets the status')
        call check(index(lrmlp_last_errmsg(), 'lrmlp_dataset_create') > 0, &
            'dataset shape error message: ' // lrmlp_last_errmsg())

        call lrmlp_error_clear()
        call check(lrmlp_net_set_input_standardize(net, [0d0], [1d0]) == LRMLP_ERR_SHAPE, &
            'standardize: wrong length')
        call check(lrmlp_last_status() == LRMLP_ERR_SHAPE, 'standardize shape error sets the status')
        call check(lrmlp_net_preprocessing(net) == 0, 'a refused transform changes nothing')

        ! C's own check still reports (unknown flags).
        call lrmlp_error_clear()
        rc = lrmlp_model_predict(model, ws, x(1:2), y, 8_c_int)
        call check(rc == LRMLP_ERR_INVALID, 'unknown flags')
        call check(lrmlp_last_status() == LRMLP_ERR_INVALID, 'unknown flags: status')
        call lrmlp_error_clear()
        call lrmlp_infer_ws_free(ws)
        call lrmlp_model_free(model)
        call lrmlp_net_free(net)
    end subroutine

    ! lrmlp_net_set_input_affine takes the C row-major M as Mt(j, i) = M_ij:
    ! predict with the transform equals the raw network on M x + c computed
    ! here.
    subroutine test_input_affine()
        real(real64) :: M(3, 3), c(3), X(3, 5), Xt(3, 5), Y(2, 5), Yt(2, 5)
        type(c_ptr) :: net
        integer :: i, j
        do j = 1, 3
            do i = 1, 3
                M(i, j) = 0.2_real64 * i - 0.3_real64 * j + merge(1d0, 0d0, i == j)
            end do
            X(j, :) = [(0.1_real64 * i * j - 0.4_real64, i = 1, 5)]
        end do
        c = [0.5_real64, -0.25_real64, 1.0_real64]
        do i = 1, 5
            Xt(:, i) = matmul(M, X(:, i)) + c
        end do
        call check(lrmlp_net_create_shape(net, [3, 5, 2], dtype=LRMLP_F64, bias=.true.) &
            == LRMLP_OK, 'create 3-5-2')
        call ok(lrmlp_predict(net, Xt, Yt), 'predict on M x + c')
        call ok(lrmlp_net_set_input_affine(net, transpose(M), c), 'input affine')
        call check(lrmlp_net_preprocessing(net) == LRMLP_PREP_INPUT_AFFINE, 'affine flag')
        call ok(lrmlp_predict(net, X, Y), 'predict with the transform')
        call check(maxval(abs(Y - Yt)) < 1e-13_real64, 'input affine applies M x + c')
        call check(lrmlp_net_set_input_affine(net, M(1:2, :), c) == LRMLP_ERR_SHAPE, &
            'affine: wrong M extent')
        call check(lrmlp_last_status() == LRMLP_ERR_SHAPE, 'affine: shape error status')
        call lrmlp_error_clear()
        call lrmlp_net_free(net)
    end subroutine

end program
