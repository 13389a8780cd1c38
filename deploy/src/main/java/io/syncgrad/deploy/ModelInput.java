package io.syncgrad.deploy;

import io.syncgrad.common.checkpoint.CheckpointStore;
import io.syncgrad.common.data.DataSources;
import io.syncgrad.common.data.Dataset;
import io.syncgrad.common.run.TrainingState;
import java.nio.file.Path;

/** A trained model and samples prepared for it: shared by evaluate and predict. */
record ModelInput(TrainingState model, Dataset samples) {

  /**
   * Loads the newest valid checkpoint at {@code modelPath}, reads {@code dataPath}, checks it
   * against the model and normalises it as in training.
   */
  static ModelInput load(String modelPath, String dataPath, String labelColumn, boolean labelled) {
    TrainingState model = CheckpointStore.newestValid(Path.of(modelPath));
    Dataset samples = DataSources.loadForModel(dataPath, labelColumn, labelled);
    DataSources.checkWidth(samples, model.model().inputSize(), "the model (" + modelPath + ")");
    if (labelled) {
      DataSources.checkLabels(samples, model.model().outputSize(),
          "the model's " + model.model().outputSize() + " classes");
    }
    model.normalization().applyInPlace(samples);
    return new ModelInput(model, samples);
  }
}
