"""The CDK Terrain layer. Importing it starts jsii, so only commands that synthesize import it."""

from envctl.node import use_bundled_node

# jsii reads JSII_NODE when the first binding is imported, which happens below this package.
use_bundled_node()
