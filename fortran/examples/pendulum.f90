! A trained network inside a simulation's time loop, from Fortran.
!
! The pendulum theta'' = -sin(theta) is integrated with the symplectic Euler
! method twice: once with the exact force, once with a network's prediction
! of it, read from a model file. When the file does not exist yet, a small
! surrogate of -sin on [-pi, pi] is trained first and saved there.
!
! The deployment pattern (docs/deploy.md): read the model once as a shared
! read-only lrmlp_model, give each thread that predicts a workspace of its
! own (here one, for batches of one sample), and call lrmlp_model_predict
! every step; after setup the loop allocates nothing.
!
!   pendulum [MODEL]       (default MODEL: pendulum.lrmlp)
!
! Build it against an installed liblrmlp with
!   gfortran pendulum.f90 $(pkg-config --cflags --libs lrmlp-fortran) -o pendulum
! Exits 0 when the two trajectories stay within 0.05 rad of each other.
program pendulum
    use, intrinsic :: iso_c_binding
    use, intrinsic :: iso_fortran_env, only: real64, error_unit
    use lrmlp
    implicit none

    real(real64), parameter :: pi = acos(-1.0_real64), dt = 0.01_real64
    integer, parameter :: steps = 2000
    character(256) :: path
    type(c_ptr) :: model, ws
    real(real64) :: th, om, th_ref, om_ref, force(1), err
    logical :: exists
    integer :: k

    path = 'pendulum.lrmlp'
    if (command_argument_count() >= 1) call get_command_argument(1, path)
    inquire (file=trim(path), exist=exists)
    if (.not. exists) call train_and_save(trim(path))

    if (lrmlp_model_read(trim(path), model) /= LRMLP_OK) then
        write (error_unit, '(a)') 'cannot read the model: ' // lrmlp_last_errmsg()
        stop 1
    end if
    if (lrmlp_infer_ws_create(ws, model, 1_c_size_t) /= LRMLP_OK) then
        write (error_unit, '(a)') 'cannot create a workspace: ' // lrmlp_last_errmsg()
        stop 1
    end if

    th = 1.0_real64
    om = 0
    th_ref = th
    om_ref = om
    err = 0
    do k = 1, steps
        if (lrmlp_model_predict(model, ws, [th], force) /= LRMLP_OK) then
            write (error_unit, '(a)') 'predict failed: ' // lrmlp_last_errmsg()
            stop 1
        end if
        om = om + dt * force(1)
        th = th + dt * om
        om_ref = om_ref - dt * sin(th_ref)
        th_ref = th_ref + dt * om_ref
        err = max(err, abs(th - th_ref))
    end do
    call lrmlp_infer_ws_free(ws)
    call lrmlp_model_free(model)
    print '(a, i0, a, f6.2, a, es9.2, a)', 'pendulum: ', steps, ' steps to t = ', steps * dt, &
        ', largest |theta_net - theta_exact| = ', err, ' rad'
    if (err >= 0.05_real64) stop 1

contains

    ! Fits a 1-16-1 tanh network to -sin(theta) and writes it to path.
    subroutine train_and_save(path)
        character(*), intent(in) :: path
        integer, parameter :: n = 256
        real(real64) :: X(1, n), T(1, n)
        type(c_ptr) :: net, opt, ds
        type(lrmlp_optim_options) :: oo
        type(lrmlp_train_options) :: to
        type(lrmlp_epoch_stats) :: st
        integer :: i, rc
        do i = 1, n
            X(1, i) = -pi + 2 * pi * (i - 1) / (n - 1)
            T(1, i) = -sin(X(1, i))
        end do
        rc = lrmlp_net_create_shape(net, [1, 16, 1], dtype=LRMLP_F64, bias=.true., &
                                    seed=7_c_int64_t)
        if (rc == LRMLP_OK) rc = lrmlp_optim_options_init(oo, LRMLP_OPTIM_OPTIONS_VERSION)
        oo%kind = LRMLP_OPTIM_ADAM
        oo%lr = 3e-3_c_double
        if (rc == LRMLP_OK) rc = lrmlp_optim_create(opt, net, oo)
        if (rc == LRMLP_OK) rc = lrmlp_dataset_create(ds, X, T)
        if (rc == LRMLP_OK) rc = lrmlp_train_options_init(to, LRMLP_TRAIN_OPTIONS_VERSION)
        to%loss = LRMLP_LOSS_MSE
        to%batch_size = 32
        do i = 1, 400
            if (rc /= LRMLP_OK) exit
            rc = lrmlp_train_epoch(net, opt, ds, to, st)
        end do
        if (rc == LRMLP_OK) rc = lrmlp_model_save(net, path)
        if (rc /= LRMLP_OK) then
            write (error_unit, '(a)') 'training failed: ' // lrmlp_strerror(rc) // ': ' // &
                lrmlp_last_errmsg()
            stop 1
        end if
        print '(a, es9.2, a)', 'trained the surrogate (last epoch loss ', st%loss, ')'
        call lrmlp_dataset_free(ds)
        call lrmlp_optim_free(opt)
        call lrmlp_net_free(net)
    end subroutine

end program
