"""The conformance suite: one suite over every engine of erbp.

    pytest tests/conformance                    # every engine, golden vectors and random networks
    pytest tests/conformance -k mps2-an386      # one engine (an adapter name)

Modules:

* ``strategies``: the one module of hypothesis strategies for random configurations, networks and
  samples (every test that needs random networks draws them here);
* ``cases``: the golden cases (tests/golden) and random networks as a ``Case`` (initial model,
  configuration and seed, samples) and its ``Truth`` (records of every tick, results, model files),
  and the one comparison (``first_difference``);
* ``adapters``: one adapter per engine (``ADAPTERS``): the reference; the C binding in this process
  and its builds in a worker process (``c-portable``, ``c-scalar``, ``c-asan``; ``cworker.py``);
  the C binding's read-only network (``c-rom``); MicroPython viper and plain from .py and .mpy
  (``mp-viper``, ``mp-plain``, ``mp-viper-mpy``, ``mp-plain-mpy``); every board of the board table
  (firmware/boards/boards.toml) whose ``ci`` list holds ``conformance``: the QEMU boards and the
  firmware's host build (a rom-only board's read-only build), and the read-only builds
  (``NAME-rom``) of the boards whose ``ci`` list holds ``rom``. Read-only engines
  (``inference_only``) run the inference samples, each on the model file in effect before it;
* ``local``: records and results of engines that call back every tick (also used by the worker);
* ``test_conformance``: the tests.

Adding an engine is writing one adapter: a subclass of ``adapters.Adapter`` with ``start``
(once per session), ``load`` (a model file; returns the model file the engine writes back, or
None), ``create`` (optional: the network from a configuration and a seed), ``run`` (one sample:
the result fields it reports, and the state after every tick or after the sample, and the model
file after it where it can) and ``examples`` (random networks it can afford), appended to
``ADAPTERS``. Adding a board is adding it to the board table: its adapter comes by itself.
Adapters never name a configuration field, a state variable or a result field: records, result
fields and configurations pass through as data, and the truth comes from the reference, so a new
semantics version (new fields, another readout) changes the reference and the golden vectors, not
the suite.
"""
