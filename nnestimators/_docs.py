"""Parameter documentation shared by the three estimators' docstrings."""

from .mlp_attributes import MLP_ATTRIBUTES_DOC

TRAINING_PARAMETERS = """\
    optimizer : type, default=AdamOrSGD
        Optimizer class; its arguments as ``optimizer__name=value``. The
        default builds Adam, or SGD (skorch's default) when ``lr`` is 0.05
        or more or SGD's own arguments (``optimizer__momentum``) are given;
        ``optimizer_`` shows which. Fused or foreach kernels are used where
        torch offers them.
    lr : float, default=1e-3
        Learning rate.
    max_epochs : int or "auto", default="auto"
        Passes over the training data. ``"auto"`` gives about 2,000
        optimiser steps, at least 10 and at most 200 epochs, so a 150-row
        table and a 100,000-row one both train well.
    batch_size : int or "auto", default="auto"
        Rows per optimiser step; ``"auto"`` is ``n_samples // 100`` clipped
        to [32, 256] (skorch's 128 for SGD at an ``lr`` of 0.05 or more,
        the batch such rates are tuned for); -1 uses all rows.
    validation_fraction : float or None, default=None
        Share of the training data held out to monitor (stratified for
        classifiers, drawn with ``random_state``). 0 turns the split off;
        None holds out 10% only when ``patience``, ``checkpoint_dir`` or
        ``lr_schedule="plateau"`` needs a validation score, or a skorch
        ``EarlyStopping`` in ``callbacks`` watches a ``valid_*`` key (its
        default). ``fit(..., validation_data=...)``
        replaces it.
    metrics : list of str or callable, default=None
        scikit-learn scorer names (``"accuracy"``, ``"roc_auc"``, ``"f1"``,
        ``"neg_root_mean_squared_error"``, ...), Keras's spellings
        (``"acc"``, ``"AUC"``, ``"mse"``, ``"precision"``, ...: recorded
        under Keras's names, errors as positive errors) or scorer callables
        ``scorer(estimator, X, y)`` (named after their metric), or a dict
        ``{name: scorer}``. Each epoch records ``train_<name>`` from the
        outputs the training steps computed (as Keras does: no extra forward
        pass, dropout active, weights changing during the epoch) and, with
        validation data, ``valid_<name>`` from the validation pass. Unknown
        names fail at fit; ``"roc_auc"`` on a multiclass target is
        one-vs-rest. None scores accuracy on validation data only
        (classifiers) and nothing for regressors.
    monitor : str, default="valid_loss"
        History key that defines the best epoch. Keys of ``metrics`` hold
        scikit-learn scores and are maximised whatever their names (scorers
        negate errors: ``neg_root_mean_squared_error``), except Keras's
        errors (``"mse"``, ...), which are minimised; a skorch scoring
        callback's key follows its ``lower_is_better``; other keys with
        "loss" or "error" in their names are minimised. Keras's names work
        (``"val_loss"``, ``"loss"``, ``"val_acc"``, ``"val_auc"``: the
        spellings ``metrics`` takes); a key the fit will not record fails
        at fit.
    patience : int or None, default=None
        Stop after this many epochs without improvement of ``monitor``;
        None never stops early.
    min_delta : float, default=0.0
        Smallest change of ``monitor`` that counts as an improvement.
    restore_best_weights : bool, default=True
        At the end of ``fit``, put back the weights (of every module, a
        subclass's own too) of the best monitored epoch (when ``monitor`` is recorded), whether or not training
        stopped early. ``partial_fit`` never restores; with skorch's
        ``EarlyStopping`` in ``callbacks``, its ``load_best`` decides.
    checkpoint_dir : str or path-like, default=None
        When set, the best model so far is written atomically into a
        sub-folder of its own, ``checkpoint_path_``, whenever ``monitor``
        improves; reload it with ``from_checkpoint``.
    lr_schedule : None, str or type, default=None
        ``"plateau"`` (ReduceLROnPlateau on ``monitor``), ``"cosine"``,
        ``"step"``, ``"exponential"`` or a ``torch.optim.lr_scheduler``
        class, stepped once per epoch; arguments as ``lr_schedule__name``.
    gradient_clip : float or None, default=None
        Maximum global gradient norm; None turns clipping off.
    augment : callable or None, default=None
        Applied to each training batch tensor (never to validation or
        prediction), e.g. compositions from ``nnestimators.augment``.
    device : str, default="auto"
        Torch device; ``"auto"`` picks CUDA, then Apple MPS, then the CPU.
        The device used is ``device_``.
    n_threads : int, "auto" or None, default="auto"
        Torch threads during fit and predict. ``"auto"`` picks them for the
        work: one thread per 16 million operations of a step (small networks
        get one), never more than the budget (``OMP_NUM_THREADS`` under
        joblib's loky workers, a Dask worker's share, the usable cores) nor
        the cores other processes leave free, so a busy machine does not
        make training collapse. An integer is used as given; None follows
        the budget, else torch's own setting.
    random_state : int, RandomState instance or None, default=None
        Seeds weight initialisation, batch shuffling, dropout, augmentation
        and the validation split. Same value, same data: same predictions.
        None draws them from torch's global generator, so, as with skorch,
        ``torch.manual_seed`` before ``fit`` also repeats a fit.
    verbose : int, default=0
        0 is silent; 1 prints one line per epoch (Keras style, ``*`` marks
        an improvement); 2 adds a progress bar over batches.
    warm_start : bool, default=False
        Continue from the current weights and history on ``fit``.
    partial_fit_epochs : int, "max_epochs" or "auto", default="auto"
        Epochs each ``partial_fit`` call trains. ``"auto"``: one pass over
        the data (scikit-learn's convention), except for a net built with
        skorch's ``initialize()`` (skorch's workflow: ``SkorchDoctor``,
        ``initialize(); load_params(...); partial_fit(...)``), which trains
        ``max_epochs`` per call as skorch's ``partial_fit`` does. ``1`` is
        always one pass, ``"max_epochs"`` always skorch's.
        ``partial_fit(..., epochs=n)`` overrides it per call.
    callbacks : list or None, default=None
        Extra skorch callbacks, as ``(name, callback)`` pairs or instances.
        The training control above is made of callbacks too, in
        ``callbacks_`` as ``metrics``, ``lr_schedule``, ``gradient_clip``,
        ``divergence``, ``best_model`` and ``print_log`` (and ``valid_acc``,
        skorch's name for the validation accuracy, in classifiers); tune them as
        ``callbacks__best_model__patience=...`` or replace them by name.
    train_split : callable or None, default=None
        A skorch split (e.g. ``skorch.dataset.ValidSplit``) used when
        ``validation_fraction`` is 0 or None.
    predict_nonlinearity : callable, "auto" or None, default="auto"
        Maps module outputs to probabilities; "auto" follows the criterion,
        or returns a module's own probabilities (``module_outputs_``).
    compile : bool, default=False
        Whether to ``torch.compile`` the module.
    **kwargs
        Routed arguments: ``module__*``, ``optimizer__*``, ``criterion__*``,
        ``lr_schedule__*``, ``callbacks__*``, ``iterator_train__*``.
"""

FITTED_ATTRIBUTES = (
    """\
    n_features_in_ : int
        ``X.shape[1]`` as scikit-learn defines it: columns of a table, or
        channels of images (grey (n, H, W) images get one channel).
    feature_names_in_ : ndarray of str
        Column names, when X was a DataFrame with string column names.
    input_shape_ : tuple of int or dict
        Shape of one sample, e.g. ``(n_features,)`` or ``(C, H, W)``; for a
        dict of arrays, each array's sample shape by key.
    target_ : object
        The fitted target (``nnestimators.targets``): how ``y`` was encoded
        for the network and how its outputs are decoded (the classes,
        multilabel or not, a regressor's scale).
    n_outputs_ : int
        Outputs of the module, passed to it as ``n_outputs``.
    device_ : str
        Device the module was trained on.
    module_ : torch.nn.Module
        The trained network.
    history_ : skorch.history.History
        Per-epoch records; ``history_frame()`` gives a DataFrame.
    best_epoch_ : int or None
        Epoch with the best monitored value, or None if nothing was monitored.
    checkpoint_path_ : str
        Folder of this fit's checkpoint (only with ``checkpoint_dir``).
"""
    + MLP_ATTRIBUTES_DOC
)
