"""iris: classifies iris flowers from tf.Example features, and regresses petal width, with the
signature kinds TF-Serving's Classify, Regress and MultiInference serve (method names set, as
Estimator exports have them). A hand-set linear model, so that its answers are easy to check:

  features   sepal_length, sepal_width, petal_length, petal_width (float; the sepal ones default to 0)
  serving_default (classify)  classes ["setosa", "versicolor", "virginica"] and their softmax scores
  petal_width     (regress)   outputs = 0.416 * petal_length - 0.366
"""
import tensorflow as tf

from models import tensorflow_format
from models.example import ExampleModel

LABELS = ["setosa", "versicolor", "virginica"]
# logits = petal_length * PETAL_LENGTH + petal_width * PETAL_WIDTH + BIAS
PETAL_LENGTH = [-3.0, 0.0, 3.0]
PETAL_WIDTH = [-2.0, 0.0, 2.0]
BIAS = [9.5, 0.0, -17.9]
WIDTH_SLOPE, WIDTH_INTERCEPT = 0.416, -0.366

FEATURES = {
    "sepal_length": tf.io.FixedLenFeature([1], tf.float32, default_value=[0.0]),
    "sepal_width": tf.io.FixedLenFeature([1], tf.float32, default_value=[0.0]),
    "petal_length": tf.io.FixedLenFeature([1], tf.float32),
    "petal_width": tf.io.FixedLenFeature([1], tf.float32),
}


def _export(version_dir):
    v1 = tf.compat.v1
    tf.get_logger().setLevel("ERROR")  # the v1 signature builders warn that they are v1
    with tf.Graph().as_default():
        serialized = v1.placeholder(tf.string, [None], name="tf_example")
        features = tf.io.parse_example(serialized, FEATURES)
        # Variables, so that loading restores a checkpoint as it does for trained models.
        weights = tf.Variable([PETAL_LENGTH, PETAL_WIDTH], name="weights")
        bias = tf.Variable(BIAS, name="bias")
        measured = tf.concat([features["petal_length"], features["petal_width"]], axis=1)
        scores = tf.nn.softmax(tf.matmul(measured, weights) + bias)
        classes = tf.tile(tf.constant([LABELS]), [tf.shape(serialized)[0], 1])
        width = tf.reshape(features["petal_length"] * WIDTH_SLOPE + WIDTH_INTERCEPT, [-1])
        signatures = {
            "serving_default": v1.saved_model.classification_signature_def(serialized, classes, scores),
            "petal_width": v1.saved_model.regression_signature_def(serialized, width),
        }
        with v1.Session() as session:
            session.run(v1.global_variables_initializer())
            builder = v1.saved_model.Builder(str(version_dir))
            builder.add_meta_graph_and_variables(session, ["serve"], signature_def_map=signatures)
            builder.save()


def _sample_inputs():
    # reference.json holds numeric tensors only; test/compat computes this model's answers with
    # TensorFlow in Python from the same tf.Examples it sends.
    return []


EXAMPLES = [
    ExampleModel("iris", "tensorflow", _export, tensorflow_format.run, _sample_inputs,
                 "linear classifier + regressor over tf.Example features"),
]
